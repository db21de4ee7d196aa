"""Which language a text is written in, and the words of each language that the text check reads:
number words, month names, articles and negations.

Offline and dictionary-free: the script decides for Chinese, Japanese, Korean, Cyrillic, Greek,
Arabic, Hebrew, Devanagari and Thai; for Latin-script text the most frequent function words of
English, Spanish, French, German, Portuguese and Italian decide. A text too short to tell is "und".
"""

from __future__ import annotations

import unicodedata

Language = str  # an ISO 639-1 code ("en", "zh", ...), "cyrillic"/"arabic"/... for a script, or "und"

_SCRIPTS = (
    ("CJK UNIFIED", "zh"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("HANGUL", "ko"), ("CYRILLIC", "cyrillic"),
    ("GREEK", "el"), ("ARABIC", "arabic"), ("HEBREW", "he"), ("DEVANAGARI", "hi"), ("THAI", "th"),
)

# The commonest function words of each language (articles, prepositions, pronouns, question words,
# the verb "to be"): enough to tell the languages apart on one question.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(["the", "of", "and", "to", "in", "is", "are", "was", "what", "which", "who", "how", "many", "much", "does", "do", "did", "with", "for", "from", "on", "at", "by", "this", "that", "it", "an", "be", "has", "have", "when", "where", "why", "whose"]),
    "es": frozenset(["el", "la", "los", "las", "de", "del", "y", "en", "es", "son", "que", "cual", "cuales", "quien", "quienes", "como", "cuanto", "cuantos", "cuantas", "una", "por", "para", "con", "se", "al", "su", "lo", "fue"]),
    "fr": frozenset(["le", "la", "les", "de", "des", "du", "et", "en", "est", "sont", "que", "quel", "quelle", "quels", "quelles", "qui", "comment", "combien", "un", "une", "pour", "par", "avec", "au", "aux", "ce", "il", "elle"]),
    "de": frozenset(["der", "die", "das", "den", "dem", "des", "und", "in", "ist", "sind", "was", "welche", "welcher", "welches", "wer", "wie", "viele", "viel", "ein", "eine", "einen", "mit", "von", "zu", "im", "auf", "fur"]),
    "pt": frozenset(["o", "a", "os", "as", "de", "do", "da", "dos", "das", "e", "em", "que", "qual", "quais", "quem", "como", "quantos", "quantas", "um", "uma", "por", "para", "com", "no", "na", "se", "foi"]),
    "it": frozenset(["il", "lo", "la", "i", "gli", "le", "di", "del", "della", "e", "in", "che", "quale", "quali", "chi", "come", "quanti", "quante", "uno", "una", "per", "con", "nel", "nella", "si", "fu"]),
}

# Number words beyond English (English is in memory/compare.py). "One" in each language is left out:
# there it is mostly an article ("un", "ein", "uma").
_NUMBER_WORDS: dict[str, dict[str, int]] = {
    "es": {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
           "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "veinte": 20, "treinta": 30,
           "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
           "mil": 1000},
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
           "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
           "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100, "mille": 1000},
    "de": {"zwei": 2, "drei": 3, "vier": 4, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
           "elf": 11, "zwolf": 12, "zwanzig": 20, "dreissig": 30, "vierzig": 40, "funfzig": 50, "hundert": 100,
           "tausend": 1000},
    "pt": {"dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9,
           "dez": 10, "onze": 11, "doze": 12, "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "cem": 100,
           "mil": 1000},
    "it": {"due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10,
           "undici": 11, "dodici": 12, "venti": 20, "trenta": 30, "quaranta": 40, "cinquanta": 50, "cento": 100,
           "mille": 1000},
}
NUMBER_JOINERS = frozenset({"y", "e", "et", "und"})  # "noventa y cinco", "vingt et un"

MONTHS: dict[str, int] = {}
for _names in (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "januar februar marz april mai juni juli august september oktober november dezember",
    "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
):
    for _number, _name in enumerate(_names.split(), 1):
        MONTHS.setdefault(_name, _number)
MONTHS["sept"] = 9

ARTICLES = frozenset(["a", "an", "the", "el", "la", "los", "las", "lo", "le", "les", "l", "un", "una", "uno", "une", "der", "die", "das", "den", "dem", "ein", "eine", "o", "os", "as", "il", "gli", "i"])
NEGATIONS: dict[str, frozenset[str]] = {
    "en": frozenset({"not", "never", "except", "cannot", "false", "incorrect", "untrue", "nor"}),
    "es": frozenset({"no", "nunca", "excepto", "salvo", "falso", "incorrecto"}),
    "fr": frozenset({"ne", "pas", "jamais", "sauf", "excepte", "faux", "incorrect"}),
    "de": frozenset({"nicht", "kein", "keine", "keinen", "nie", "niemals", "ausser", "falsch"}),
    "pt": frozenset({"nao", "nunca", "exceto", "falso", "incorreto"}),
    "it": frozenset({"non", "mai", "tranne", "eccetto", "falso"}),
}


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for prefix, language in _SCRIPTS:
        if name.startswith(prefix):
            return language
    return None


def detect(text: str, words: list[str] | None = None) -> Language:
    """The language of `text`; `words` are its folded word tokens when the caller has them already."""
    counts: dict[str, int] = {}
    for char in text:
        if char.isalpha() and ord(char) > 0x24F:
            script = _script(char)
            if script is not None:
                counts[script] = counts.get(script, 0) + 1
    if counts:
        if counts.get("ja"):
            return "ja"  # Japanese mixes kana with Chinese characters
        best = max(counts, key=lambda k: counts[k])
        if counts[best] >= 2:
            return best
    if words is None:
        folded = unicodedata.normalize("NFKD", text.lower())
        words = "".join(c if c.isalpha() else " " for c in folded if not unicodedata.combining(c)).split()
    scores = {lang: sum(w in vocabulary for w in words) for lang, vocabulary in _FUNCTION_WORDS.items()}
    ranked = sorted(scores.items(), key=lambda pair: -pair[1])
    (first, top), (_, second) = ranked[0], ranked[1]
    if top >= 2 and top > second:
        return first
    return "und"


def number_words(language: Language) -> dict[str, int]:
    return _NUMBER_WORDS.get(language, {})


def negations(language: Language) -> frozenset[str]:
    return NEGATIONS.get(language, NEGATIONS["en"])
