import torch

from affectagent.nanoemox.adapters import HeterogeneousAdapters
from affectagent.nanoemox.config import AdapterConfig

DIMS = {"face": 16, "visual": 24, "speech": 20, "fusion": 12}


def test_every_stream_maps_to_the_lm_width_on_the_embedding_scale():
    torch.manual_seed(0)
    ad = HeterogeneousAdapters(config=AdapterConfig(), dims=DIMS, lm_width=48, embedding_rms=0.07)
    for stream, d in DIMS.items():
        y = ad(stream=stream, x=torch.randn(3, 5, d))
        assert y.shape == (3, 5, 48)
        assert torch.allclose(y.pow(2).mean(-1).sqrt(), torch.full((3, 5), 0.07), atol=1e-4)
    assert ad(stream="fusion", x=torch.randn(2, 12)).shape == (2, 48)


def test_adapters_are_heterogeneous_face_is_a_two_layer_gelu_mlp():
    ad = HeterogeneousAdapters(config=AdapterConfig(face_hidden=40, match_embedding_scale=False), dims=DIMS,
                               lm_width=48)
    face = ad.adapters["face"]
    kinds = [type(m).__name__ for m in face]
    assert kinds == ["Linear", "GELU", "Dropout", "Linear"] and face[0].out_features == 40
    assert isinstance(ad.adapters["visual"], torch.nn.Linear) and ad.adapters["speech"].in_features == 20


def test_adapters_map_to_the_lm_width(tiny_model):
    h = tiny_model.lm.hidden_size
    for module in tiny_model.adapters.adapters.values():
        first = next(m for m in module.modules() if isinstance(m, torch.nn.Linear))
        assert module(torch.randn(2, first.in_features)).shape == (2, h)
