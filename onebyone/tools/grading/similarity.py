"""Near-identical solution code between submissions, by token winnowing (Schleimer, Wilkerson and
Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003, the method of MOSS).

One solution cell at a time. Its code is read with Python's tokenize; comments and layout (line
breaks, indentation) are dropped; names the cell binds (its functions, parameters, variables)
become `V`, strings `S`, numbers `N`; names it only reads (`np`, `range`) and attributes
(`.einsum`, `.reshape`) are kept: renaming variables changes nothing here, calling another API
is another answer. Every run of K tokens (a k-gram) is hashed; of each WINDOW consecutive hashes
the smallest is kept (the rightmost on ties), so any shared run of at least WINDOW + K - 1
tokens shares at least one fingerprint. Fingerprints of the released cell (the code handed out)
are dropped. A pair's score is the share of the smaller set of fingerprints that the other holds.

It flags pairs for a person to look at; it never changes a grade.
"""

import ast
import builtins
import dataclasses
import hashlib
import io
import itertools
import keyword
import tokenize

K = 5  # tokens per k-gram: a solution cell is short
WINDOW = 4  # shared runs of WINDOW + K - 1 = 8 tokens or more are always found
THRESHOLD = 0.8  # pairs scoring at least this are flagged
MIN_FINGERPRINTS = 4  # fewer (a one-line answer) is too little code to tell copying from chance
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}


def bound_names(code):
    """Names the code binds (functions, classes, parameters, assignment and loop targets,
    imports), or None when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def tokens(code):
    """The normalised tokens of `code`, as (text, line number) pairs."""
    bound = bound_names(code)
    found, previous = [], None
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in SKIPPED:
                continue
            text = token.string
            if token.type == tokenize.NAME and not keyword.iskeyword(text) and previous != ".":
                # a name read but not bound here (np, range) stays; unparsable code: all go
                chosen = text in bound if bound is not None else not hasattr(builtins, text)
                text = "V" if chosen else text
            elif token.type == tokenize.STRING or token.type == getattr(
                    tokenize, "FSTRING_START", None):
                text = "S"
            elif token.type == tokenize.NUMBER:
                text = "N"
            found.append((text, token.start[0]))
            previous = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # unfinished code: the tokens read so far
    return found


def _hash(gram):
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(),
                          "big")


def winnow(hashes, window=WINDOW):
    """{position: hash} of the fingerprints chosen from `hashes` (Schleimer et al., fig. 2:
    the minimum of every window, the rightmost one on ties, each position once)."""
    if len(hashes) < window:
        return dict(enumerate(hashes))
    chosen = {}
    for start in range(len(hashes) - window + 1):
        chosen.update(_window_min(hashes, start, window))
    return chosen


def _window_min(hashes, start, window=WINDOW):
    part = hashes[start:start + window]
    low = min(part)
    position = start + max(i for i, h in enumerate(part) if h == low)
    return {position: low}


@dataclasses.dataclass
class Fingerprints:
    """One cell's fingerprints: hash -> start positions (token indices), and its tokens' lines."""

    code: str
    lines: list  # line number of each normalised token
    positions: dict

    @property
    def hashes(self):
        return set(self.positions)


def kgram_hashes(code):
    """The hash of every k-gram of `code`'s normalised tokens, and the tokens' lines."""
    found = tokens(code)
    texts = [text for text, _ in found]
    return [_hash(texts[i:i + K]) for i in range(len(texts) - K + 1)], [ln for _, ln in found]


def fingerprints(code, handed_out=frozenset()):
    """The fingerprints of `code`, without any k-gram of the code handed out."""
    hashes, lines = kgram_hashes(code)
    positions = {}
    for position, value in winnow(hashes).items():
        if value not in handed_out:
            positions.setdefault(value, []).append(position)
    return Fingerprints(code, lines, positions)


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two submissions' cells that look alike: the score and the lines that match in each."""

    first: str
    second: str
    score: float
    first_lines: frozenset
    second_lines: frozenset


def _matched_lines(prints, shared):
    lines = set()
    for value in shared:
        for start in prints.positions[value]:
            lines.update(prints.lines[start:start + K])
    return frozenset(lines)


def compare(a, b):
    """(score, lines of a, lines of b) of two cells' fingerprints; a score of 0 when either
    has too little code of its own."""
    smaller = min(len(a.positions), len(b.positions))
    if smaller < MIN_FINGERPRINTS:
        return 0.0, frozenset(), frozenset()
    shared = a.hashes & b.hashes
    return len(shared) / smaller, _matched_lines(a, shared), _matched_lines(b, shared)


def similar_pairs(codes: dict, released: str = "", threshold: float = THRESHOLD) -> list:
    """Flagged pairs among {student: code of one cell}, the highest scores first."""
    handed_out = frozenset(kgram_hashes(released)[0])
    prints = {student: fingerprints(code, handed_out) for student, code in sorted(codes.items())}
    pairs = []
    for (first, a), (second, b) in itertools.combinations(prints.items(), 2):
        score, first_lines, second_lines = compare(a, b)
        if score >= threshold:
            pairs.append(Pair(first, second, score, first_lines, second_lines))
    return sorted(pairs, key=lambda p: (-p.score, p.first, p.second))
