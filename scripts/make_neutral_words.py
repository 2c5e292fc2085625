#!/usr/bin/env python
"""Build ``affectagent/assets/arena/neutral_words.txt``: the emotion-neutral keywords the SAB arena samples from.

Candidates are a hand-picked set of common, concrete English nouns and everyday verbs (below, grouped by topic). A word
is kept only if both lexicons call it neutral:

- VADER (``vaderSentiment``): the word is not in VADER's lexicon and ``|compound|`` of the word alone is < 0.05;
- NRC Emotion Lexicon (the copy bundled with ``nrclex``): the word, and its ``-s`` / ``-es`` form, carry no association
  (no emotion and no positive/negative sentiment);

and it is not on ``CONNOTED`` (a short manual list of words whose everyday connotation neither lexicon marks, e.g.
danger or loss). The output is sorted, one lowercase word a line, after a comment header naming the lexicon versions.

    .venv/bin/python scripts/make_neutral_words.py            # write the list
    .venv/bin/python scripts/make_neutral_words.py --check    # exit 1 if the shipped list differs from a rebuild

Needs ``vaderSentiment`` and ``nrclex`` (pinned in requirements.txt; tests/arena/test_stimuli.py re-checks the list).
"""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "affectagent" / "assets" / "arena" / "neutral_words.txt"
VADER_LIMIT = 0.05

CANDIDATES: dict[str, str] = {
    "household": """
        table chair sofa couch bed pillow blanket curtain window door wall floor ceiling stair shelf drawer cupboard
        closet mirror lamp clock carpet rug basket bucket box jar bottle cup mug glass plate bowl spoon fork kettle
        teapot pan pot oven stove fridge sink tap towel soap sponge broom mop brush comb button zipper hanger key
        lock handle hinge nail screw hammer ladder candle vase frame calendar envelope stamp pencil pen paper
        notebook folder stapler ruler eraser scissors tape string rope thread needle cushion doormat
    """,
    "food": """
        bread toast butter cheese milk egg rice pasta noodle soup salad sandwich pancake waffle cereal oat flour
        sugar salt pepper onion garlic carrot potato tomato cucumber lettuce cabbage bean pea corn apple pear banana
        orange lemon grape plum peach cherry melon coconut nut almond peanut olive tea coffee juice jam honey yogurt
        biscuit cracker muffin pie pizza sausage fish carrot celery spinach mushroom pumpkin broccoli
    """,
    "animals": """
        cat dog horse cow sheep goat pig chicken duck goose rabbit mouse hamster parrot pigeon sparrow owl crow
        fox deer squirrel bear wolf turtle frog fish whale dolphin seal penguin camel zebra giraffe elephant
        lion tiger monkey donkey ant bee butterfly beetle snail worm crab lobster hen rooster pony
    """,
    "nature": """
        tree leaf branch root flower grass bush hedge moss stone rock pebble sand soil mud clay hill mountain valley
        river lake pond stream island beach coast shore wave cloud rain snow wind fog mist ice sky moon star
        planet field meadow forest desert cliff cave volcano meadow puddle acorn pine oak maple willow tulip daisy
    """,
    "places": """
        kitchen bedroom bathroom attic basement garage hallway balcony porch yard fence gate street road lane
        bridge tunnel station airport harbour market shop bakery library museum school office factory farm barn
        village town city square park corner platform pier lighthouse tower building apartment cottage cabin tent
    """,
    "transport": """
        car bus train tram truck van taxi bicycle scooter motorcycle boat ship canoe ferry airplane helicopter wheel
        engine tyre seat ticket map suitcase backpack luggage trolley subway
    """,
    "clothing": """
        shirt jacket coat sweater scarf hat cap glove sock shoe boot sandal belt pocket sleeve collar skirt dress
        trousers jeans apron umbrella wallet purse watch ring necklace bracelet glasses uniform
    """,
    "objects": """
        phone radio television computer keyboard screen camera battery cable plug switch bulb fan heater printer
        speaker microphone guitar piano violin drum flute ball kite puzzle card dice chess marble balloon
        magazine newspaper book letter postcard sticker ribbon bucket shovel rake hose wheelbarrow sack crate barrel
        tray lid cork straw napkin tablecloth coin receipt menu sign poster bench fountain statue
    """,
    "verbs": """
        walk sit stand open close carry lift push pull fold wash dry cook bake boil pour stir slice peel chop
        paint draw write read type print copy count measure weigh pack unpack sort stack build plant water dig
        sweep wipe knock ring call listen watch look turn drive ride sail swim climb jump throw catch kick
        roll spin wrap tie knit sew iron hang park board wait arrive travel visit deliver collect borrow
    """,
}

# Everyday connotation that neither lexicon marks (kept short and explicit; extend with care).
CONNOTED: frozenset[str] = frozenset({
    "wolf", "snake", "volcano", "cliff", "cave", "tunnel", "needle", "hammer", "nail", "lock", "knock",
    "whale", "tiger", "lion", "bear", "crow",
})


def candidates() -> list[str]:
    """All candidate words, lowercased and de-duplicated, in first-seen order."""
    words = (w.strip().lower() for block in CANDIDATES.values() for w in block.split())
    return list(dict.fromkeys(w for w in words if w))


def nrc_lexicon() -> dict[str, list[str]]:
    """The NRC Emotion Lexicon bundled with nrclex: word -> its associations (words without any are absent)."""
    import json
    from importlib import resources

    return json.loads(resources.files("nrclex.data").joinpath("nrc_en.json").read_text(encoding="utf-8"))


def vader_analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_neutral(word: str, analyzer) -> bool:
    """Not in VADER's lexicon and |compound| < VADER_LIMIT for the word on its own."""
    return word not in analyzer.lexicon and abs(analyzer.polarity_scores(word)["compound"]) < VADER_LIMIT


def nrc_neutral(word: str, lexicon: dict[str, list[str]]) -> bool:
    """No NRC association for the word nor its -s / -es form."""
    return not any(lexicon.get(form) for form in (word, word + "s", word + "es"))


def neutral_words() -> list[str]:
    """The sorted emotion-neutral subset of the candidates."""
    analyzer, lexicon = vader_analyzer(), nrc_lexicon()
    return sorted(w for w in candidates()
                  if w not in CONNOTED and vader_neutral(w, analyzer) and nrc_neutral(w, lexicon))


def render(words: list[str]) -> str:
    header = [
        "# Emotion-neutral keywords for the SAB arena (affectagent.arena.stimuli). Generated by",
        "# scripts/make_neutral_words.py: common concrete nouns and everyday verbs kept only when VADER",
        f"# (vaderSentiment {version('vaderSentiment')}: not in its lexicon, |compound| < {VADER_LIMIT}) and the NRC",
        f"# Emotion Lexicon (bundled with nrclex {version('nrclex')}: no association) call them neutral.",
        "# One word a line.",
    ]
    return "\n".join(header + words) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped list instead of writing it")
    parser.add_argument("--out", type=Path, default=OUT, help="output file (default: the shipped asset)")
    args = parser.parse_args(argv)
    words = neutral_words()
    text = render(words)
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from a rebuild'} ({len(words)} words)")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(words)} of {len(candidates())} candidates to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
