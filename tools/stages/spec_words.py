"""What a request says in so many words: its size, answer format, difficulty, subject area and language.

Read without a model, so that what the user wrote is taken even when a weak model leaves it out:
"A 60-item benchmark of grade-school arithmetic word problems", "Six yes/no questions about the
planets of the solar system, easy."
"""

from __future__ import annotations

import re

from tools.stages.amounts import NUMBER, number_value

_NOUNS = (r"(?:questions?|items?|samples?|problems?|examples?|prompts?|puzzles?|tasks?|exercises?|riddles?|statements?|"
          r"claims?|mcqs?|qs|cases?|scenarios?|queries|query|pairs?|passages?|dialogues?|conversations?|instances?|"
          r"entries|entry|challenges?|test cases?|flashcards?|quizzes|snippets?|functions?|proofs?)")
# A count, then up to four describing words ("60 hard multiple-choice arithmetic word problems", "a 60-item
# benchmark", "Six yes/no questions"); the words between never include "of", "the", ... ("one of the questions").
_SIZE_PATTERN = re.compile(
    rf"(?P<n>{NUMBER})(?:\s*-\s*|\s+)(?P<words>(?:(?!(?:of|the|in|than|per|each|from|at)\b)[\w/'+-]+\s+){{0,4}}?)"
    rf"(?P<noun>{_NOUNS})\b(?!\s+(?:per|each|for each)\b)",
    re.IGNORECASE,
)
_SIZE_STATED = re.compile(rf"\b(?:(?:size|total|count)\s*(?:of|:|=|is|to)?|n\s*=)\s*(?P<n>{NUMBER})|"
                          rf"(?P<m>{NUMBER})\s+(?:of them|in total|in all|altogether)\b", re.IGNORECASE)
_FORMAT_WORDS = {
    "multiple_choice": ("multiple choice", "multiple-choice", "mcq", "4-option", "four-option", "options", "4 choices",
                        "four choices", "a/b/c/d", "abcd"),
    "yes_no": ("yes/no", "yes-no", "yes or no", "true/false", "true or false", "boolean", "true-false"),
    "numeric": ("numeric", "numerical", "number answer", "answers are numbers", "answer is a number", "integer answer",
                "a number as the answer", "numbers as answers"),
    "short_answer": ("short answer", "short-answer", "free text", "free-form", "open-ended", "open ended", "one-word answer",
                     "free-response", "free response"),
}


def size_in_text(text: str) -> int | None:
    """The sample count the user wrote ("60 arithmetic word problems", "a 60-item benchmark", "six questions",
    "5k samples", "size: 1,200"), if any."""
    for pattern in (_SIZE_PATTERN, _SIZE_STATED):
        for match in pattern.finditer(text):
            value = number_value(match.group("n") or match.group("m") or "")
            if value and (value > 1 or match.group("n")):  # "one of them" is no size
                return value
    return None


_DIFFICULTY_WORDS = {
    "hard": ("hard", "harder", "difficult", "challenging", "tough", "expert", "expert-level", "advanced", "olympiad",
             "graduate-level", "phd-level"),
    "easy": ("easy", "simple", "beginner", "elementary", "introductory", "basic", "straightforward"),
    "mixed": ("mixed difficulty", "varied difficulty", "range of difficulties"),
    "medium": ("medium", "moderate", "intermediate"),
}
STOPWORDS = frozenset({
    "the", "and", "for", "with", "that", "this", "from", "about", "into", "than", "then", "them", "they",
    "what", "which", "when", "where", "will", "would", "should", "could", "some", "more", "most", "very",
    "just", "like", "make", "benchmark", "benchmarks", "test", "tests", "testing", "question", "questions",
    "item", "items", "sample", "samples", "problem", "problems", "task", "tasks",
    # the words of asking, which a made-up field shares with any request ("Generate ..." and "general knowledge")
    "generate", "create", "build", "write", "produce", "design", "need", "want", "please", "give", "help",
})


def difficulty_in_text(text: str) -> str | None:
    lowered = text.lower()
    for difficulty in ("mixed", "hard", "easy", "medium"):
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in _DIFFICULTY_WORDS[difficulty]):
            return difficulty
    return None


_DOMAIN_LEAD = re.compile(
    r"\b(?:about|on|covering|concerning|regarding|benchmark of|quiz of|test of|in the (?:area|field|domain) of|"
    r"(?:subject|topic|domain)(?: area)?(?: is|:)?)\s+", re.IGNORECASE)
# Where the subject stops: punctuation, or words that start another part of the request.
_DOMAIN_END = re.compile(
    r"[,.;:!?()\[\]]|\s(?:with|that|which|where|so|for|and (?:make|keep|use|each|all|no)|in (?:english|[A-Z]\w+)\b|"
    r"harder|easier|like|similar|each|using|written|at (?:an?|the)? ?\w+ level|suitable|aimed|please)\b", re.IGNORECASE)
_AFTER_NOUN = re.compile(rf"\b{_NOUNS}\s+(?:of|for|in|from)\s+(?!(?:a|an|the)?\s*(?:benchmark|test|set|quiz)\b)",
                         re.IGNORECASE)
_LANGUAGES = ("English", "French", "German", "Spanish", "Italian", "Portuguese", "Dutch", "Polish", "Russian", "Ukrainian",
              "Chinese", "Mandarin", "Japanese", "Korean", "Arabic", "Hindi", "Bengali", "Turkish", "Swedish", "Norwegian",
              "Danish", "Finnish", "Greek", "Hebrew", "Vietnamese", "Thai", "Indonesian", "Swahili", "Czech", "Romanian")
_LANGUAGE = re.compile(rf"\b(?:in|into)\s+({'|'.join(_LANGUAGES)})\b|\b({'|'.join(_LANGUAGES)})[- ](?:language\s+)?"
                       rf"(?:{_NOUNS}|quiz|benchmark|test|speakers?)\b")
_NOT_SUBJECT = frozenset({*STOPWORDS, "hard", "harder", "easy", "easier", "medium", "difficult", "simple", "mixed",
                          "multiple", "choice", "multiple-choice", "yes/no", "numeric", "short", "answer", "answers",
                          "new", "good", "set", "some", "few", "many", "a", "an", "of", "to", "in", "on", "as",
                          "open-ended", "true/false", "mcq", "four-option", "4-option", "item", "option", "options",
                          "level", "short-answer", "free-form", "challenging", "tough", "moderate",
                          "intermediate", "beginner", "elementary", "prompts", "examples", "exercises"})


def _subject(phrase: str) -> str | None:
    """A subject phrase cut at its end, without leading articles; None when nothing of substance is left."""
    phrase = _DOMAIN_END.split(phrase, maxsplit=1)[0]
    phrase = re.sub(r"^(?:(?:the|a|an|some|these|those)\s+)+", "", phrase.strip(), flags=re.IGNORECASE).strip(" '\"")
    words = phrase.split()
    if not words or len(words) > 10 or re.match(rf"^{NUMBER}\b", phrase, re.IGNORECASE):
        return None
    if not [w for w in words if w.lower() not in _NOT_SUBJECT and re.search(r"[a-z]", w.lower())]:
        return None
    return phrase[:120]


def domain_in_text(text: str) -> str | None:
    """The subject area the user wrote: "questions about the planets of the solar system", "a benchmark of
    grade-school arithmetic word problems", "40 European geography questions", "questions for high school
    physics"; None when the text names none."""
    for lead in _DOMAIN_LEAD.finditer(text):
        if (subject := _subject(text[lead.end():])) is not None:
            return subject
    for lead in _AFTER_NOUN.finditer(text):
        rest = text[lead.end():]
        if re.match(rf"(?:{'|'.join(_LANGUAGES)})\b", rest):
            continue  # "questions in French": a language, not a subject
        if (subject := _subject(rest)) is not None:
            return subject
    for lead in _CAPABILITY_LEAD.finditer(text):  # "testing reading comprehension of legal contracts"
        of = re.match(r"(?:[\w'-]+\s+){1,5}?(?:of|about|on|in)\s+", text[lead.end():])
        if of and (subject := _subject(text[lead.end() + of.end():])) is not None:
            return subject
    for match in _SIZE_PATTERN.finditer(text):
        words = [w for w in match.group("words").split() if w.lower() not in _NOT_SUBJECT and not _format_word(w)]
        noun = match.group("noun").lower()
        if words or noun.startswith(("puzzle", "riddle")):  # "12 riddles": riddles are a subject of their own
            return " ".join([*words, noun] if noun.startswith(("problem", "puzzle", "riddle")) else words)[:120]
    return None


def _format_word(word: str) -> bool:
    return format_in_text(word) is not None or difficulty_in_text(word) is not None


def language_in_text(text: str) -> str | None:
    """The language the user named ("in French", "German questions"), if any."""
    match = _LANGUAGE.search(text)
    return (match.group(1) or match.group(2)) if match else None


_CAPABILITY_LEAD = re.compile(
    r"\b(?:testing|evaluating|measuring|assessing|probing|(?:that|which|to|should|must)\s+(?:test|evaluate|measure|assess|"
    r"probe|check)s?|(?:that|which)\s+assesses)\s+(?:(?:the|an?|models?'?s?|llms?'?|their|its|how well|do|can|handle|perform)\s+)*",
    re.IGNORECASE)
_CAPABILITY_END = re.compile(r"[,.;:!?()\[\]]|\s(?:about|on|in|of|for|with|that|which|using|from|across|and (?:make|use)|"
                             r"like|similar|harder|easier|at)\b", re.IGNORECASE)


def capability_in_text(text: str) -> str | None:
    """The skill the user named: "items testing commonsense reasoning", "questions that test logical reasoning
    about schedules", "a benchmark to evaluate reading comprehension of contracts"; None when none is named."""
    for lead in _CAPABILITY_LEAD.finditer(text):
        phrase = _CAPABILITY_END.split(text[lead.end():], maxsplit=1)[0].strip(" '\"")
        words = phrase.split()
        if 1 <= len(words) <= 6 and [w for w in words if w.lower() not in _NOT_SUBJECT and re.search("[a-z]", w.lower())]:
            return phrase[:200]
    return None


def capability_from_domain(domain: str) -> str:
    """The skill a benchmark of `domain` items tests when the user named only the subject."""
    if re.search(r"\b(problems?|puzzles?|riddles?|exercises?)$", domain, re.IGNORECASE):
        return f"solving {domain}"[:200]
    return f"knowledge of {domain}"[:200]


def format_in_text(text: str) -> str | None:
    found = formats_in_text(text)
    return found[0] if found else None


def formats_in_text(text: str) -> list[str]:
    """Every answer format the text names, in the order of `_FORMAT_WORDS`."""
    lowered = text.lower()
    return [answer_format for answer_format, words in _FORMAT_WORDS.items() if any(word in lowered for word in words)]




# "questions that need the document", "cannot be answered without the material", "only answerable from the text".
_DETERMINER = r"(?:the|my|this|these|our|attached|given|provided|uploaded)\s+"
_MATERIAL_WORD = r"(?:documents?|material|text|texts|files?|sources?|pdfs?|passages?|papers?|reports?|data|records|" \
                 r"images?|book|article)\b"
_MATERIAL_NOUN = rf"(?:{_DETERMINER})*{_MATERIAL_WORD}"
_NEEDS_MATERIAL = re.compile(
    rf"\b(?:(?:need|require|depend on|rely on)s?\s+(?:{_DETERMINER})+{_MATERIAL_WORD}|"
    rf"(?:cannot|can't|can ?not|could not|couldn't|impossible to)\s+(?:be\s+)?(?:answer(?:ed)?|solve[d]?)\s+"
    rf"without\s+(?:reading\s+|seeing\s+|looking at\s+)?{_MATERIAL_NOUN}|"
    rf"(?:only\s+)?answerable\s+(?:only\s+)?(?:from|with)\s+{_MATERIAL_NOUN}|"
    rf"not\s+answerable\s+without\s+{_MATERIAL_NOUN}|closed[- ]book\s+(?:models?\s+)?(?:can't|cannot|fail))", re.IGNORECASE)


def needs_material_in_text(text: str) -> bool:
    """Whether the request asks for items that need the user's material ("questions that cannot be answered
    without the document"): then items a model answers without it are dropped."""
    return bool(_NEEDS_MATERIAL.search(text))
