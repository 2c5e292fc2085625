"""MediaPipe's drawing helpers (which import matplotlib.pyplot and cv2) load only when used: building the face
detector / landmarker does not import matplotlib, and the helpers still work afterwards."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_face_landmarker_does_not_import_matplotlib_until_drawing():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from affectagent.encoders.face_mediapipe import MediaPipeFaceLandmarker, _import_mediapipe
        lm = MediaPipeFaceLandmarker()
        assert lm.detect(np.zeros((64, 64, 3), np.uint8)) is None
        before = "matplotlib" in sys.modules
        mp = _import_mediapipe()
        spec = mp.solutions.drawing_utils.DrawingSpec(color=(0, 255, 0))
        style = mp.solutions.drawing_styles.get_default_face_mesh_contours_style()
        from mediapipe.python.solutions import drawing_utils
        print(before, "matplotlib" in sys.modules, spec.color, bool(style), callable(drawing_utils.draw_landmarks))
        lm.close()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False True (0, 255, 0) True True"
