"""Similar solutions worth reading: pairs of submissions whose solution cell shares code that is
the students' own, found through an index of fingerprints, not by comparing all pairs.

Fingerprints are those of MOSS (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms
for document fingerprinting", SIGMOD 2003): the cell's code read with Python's tokenize,
comments and layout dropped, the names the cell binds (its functions, parameters, variables,
the attributes it sets on `self`) turned into `V`, strings `S`, numbers `N`; names it only reads
(`np`, `nn.Conv2d`) kept: renaming changes nothing, another API is another answer. Every run of
K tokens is hashed; of each WINDOW consecutive hashes the smallest is kept, so any shared run of
WINDOW + K - 1 tokens shares a fingerprint.

What is not the student's own is left out, as MOSS leaves it out:
- the code handed out (every k-gram of the released cell: the stub, the signature the task
  imposes);
- what the class shares: a fingerprint held by more than COMMON submissions (MOSS's `-m`,
  10 by default) is an idiom or the natural answer, not a sign of copying.

Candidate pairs are the submissions that share a fingerprint held by 2..COMMON of them: each
such fingerprint gives at most COMMON * (COMMON - 1) / 2 pairs, so the work grows with the
number of fingerprints, linearly with the class, not with its square.

A pair's `score` is the share of the smaller side's own code (its fingerprints weighted by
rarity, log(N / df): code no one else wrote weighs most) found in the other: from THRESHOLD
on, the pair is flagged. Its `evidence`, by which pairs are ranked, is the weight of what they
share times the weighted Jaccard share of the two sides' own code: how rare the shared code is,
and how much of both it covers. A copy, a copied mistake above all, shares all its rare code
and comes first; two honest answers in one style share much, but each also has code the other
lacks; two short natural answers share little. Groups join pairs alike in the same way
(evidence within a factor KIN of the group's strongest), never beyond COMMON members.

It flags pairs for a person to read; it never changes a grade.
"""

import builtins
import collections
import contextlib
import dataclasses
import functools
import gc
import hashlib
import io
import itertools
import keyword
import math
import tokenize

from onebyone.tools import names as code_names

K = 5  # tokens per k-gram: a solution cell is short
WINDOW = 4  # shared runs of WINDOW + K - 1 = 8 tokens or more always share a fingerprint
COMMON = 10  # held by more submissions than this: the class's, not one student's (MOSS's -m)
THRESHOLD = 0.8  # flagged from this share of the smaller side's own code
KIN = 0.5  # a pair joins a group when its evidence is at least this share of the group's best
MIN_SHARED = 4  # fewer shared fingerprints is too little code to tell copying from chance
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}


def bound_names(code: str) -> tuple[set, set] | None:
    """(names, attribute names) the code binds: functions, classes, parameters, assignment and
    loop targets, imports; attributes assigned (`self.conv1 = ...`). None when it does not
    parse."""
    try:
        found = code_names.walk(code)
    except (SyntaxError, ValueError):
        return None
    return set(found.bound), set(found.stored_attributes)


def tokens(code: str) -> list[tuple[str, int]]:
    """The normalised tokens of `code`, as (text, line number) pairs."""
    bound = bound_names(code)
    names, attributes = bound if bound is not None else (None, set())
    found, previous = [], None
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in SKIPPED:
                continue
            text = token.string
            if token.type == tokenize.NAME and not keyword.iskeyword(text):
                if previous == ".":
                    chosen = text in attributes  # self.reduce: the student's name for a part
                elif names is not None:
                    chosen = text in names
                else:  # unparsable code: every name but the builtins
                    chosen = not hasattr(builtins, text)
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


MASK = (1 << 64) - 1
MIX = 0x9E3779B97F4A7C15  # an odd 64-bit constant: consecutive tokens' values spread apart


@functools.lru_cache(maxsize=1 << 16)
def _token_value(text):
    """A token's 64-bit value: stable across processes (Python's own hash of a str is not)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _hash(gram):
    value = 0
    for text in gram:
        value = ((value ^ _token_value(text)) * MIX) & MASK
    return value ^ (value >> 29)


def kgram_hashes(code: str) -> tuple[list[int], list[int]]:
    """The hash of every k-gram of `code`'s normalised tokens, and each token's line."""
    found = tokens(code)
    texts = [text for text, _ in found]
    return [_hash(texts[i:i + K]) for i in range(len(texts) - K + 1)], [ln for _, ln in found]


def winnow(hashes: list[int], window: int = WINDOW) -> dict[int, int]:
    """{position: hash} chosen from `hashes` (Schleimer et al., fig. 2: the minimum of every
    window, the rightmost on ties, each position once), in one pass with a monotone queue."""
    if len(hashes) < window:
        return dict(enumerate(hashes))
    chosen, queue = {}, collections.deque()  # positions, their hashes increasing
    for position, value in enumerate(hashes):
        while queue and hashes[queue[-1]] >= value:  # >=: the rightmost minimum wins ties
            queue.pop()
        queue.append(position)
        if queue[0] <= position - window:
            queue.popleft()
        if position >= window - 1:
            chosen[queue[0]] = hashes[queue[0]]
    return chosen


@dataclasses.dataclass
class Document:
    """One submission's cell: its fingerprints (hash -> token positions) and tokens' lines."""

    key: str
    code: str
    lines: list
    positions: dict


def fingerprints(key: str, code: str, handed_out: frozenset = frozenset()) -> Document:
    """The fingerprints of `code`, without any k-gram of the code handed out."""
    hashes, lines = kgram_hashes(code)
    positions = {}
    for position, value in winnow(hashes).items():
        if value not in handed_out:
            positions.setdefault(value, []).append(position)
    return Document(key, code, lines, positions)


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two submissions that share code of their own: the share of the smaller side's own code
    (`score`), the ranking's `evidence`, the number of shared fingerprints, the matched lines."""

    first: str
    second: str
    score: float
    first_lines: frozenset
    second_lines: frozenset
    evidence: float = 0.0
    shared: int = 0


def _matched_lines(document, shared):
    lines = set()
    for value in shared:
        for start in document.positions[value]:
            lines.update(document.lines[start:start + K])
    return frozenset(lines)


class Index:
    """An inverted index of one solution cell's fingerprints over a class."""

    def __init__(self, released: str = "", common: int = COMMON):
        self.handed_out = frozenset(kgram_hashes(released)[0])
        self.common = common
        self.documents: list[Document] = []
        self.postings: dict[int, list[int]] = collections.defaultdict(list)  # hash -> documents

    def add(self, key: str, code: str) -> None:
        document = fingerprints(key, code, self.handed_out)
        number = len(self.documents)
        self.documents.append(document)
        for value in document.positions:
            self.postings[value].append(number)

    def weight(self, value: int) -> float:
        """How much this fingerprint says about who wrote it: log(N / df), the rarer the more
        (a student's own code, shared or not); 0 when it is the class's (held by more than
        `common`)."""
        held = len(self.postings[value])
        if held > self.common:
            return 0.0
        return math.log(len(self.documents) / held) + 1e-9  # > 0 even when all hold it

    def candidates(self) -> dict[tuple[int, int], list[int]]:
        """{(document, document): shared own fingerprints}, from the postings of fingerprints
        held by 2..common submissions only."""
        shared = collections.defaultdict(list)
        for value, holders in self.postings.items():
            if 2 <= len(holders) <= self.common:
                for pair in itertools.combinations(holders, 2):
                    shared[pair].append(value)
        return shared

    def pairs(self, threshold: float = THRESHOLD, min_shared: int = MIN_SHARED) -> list[Pair]:
        """The flagged pairs, the strongest evidence first."""
        weights = {}

        def own(document):
            return sum(weights.setdefault(v, self.weight(v)) for v in document.positions)

        totals, found = {}, []
        for (i, j), shared in self.candidates().items():
            if len(shared) < min_shared:
                continue
            for n in (i, j):
                if n not in totals:
                    totals[n] = own(self.documents[n])
            evidence = sum(weights.setdefault(v, self.weight(v)) for v in shared)
            score = evidence / min(totals[i], totals[j])
            if score >= threshold:
                a, b = sorted((self.documents[i], self.documents[j]), key=lambda d: d.key)
                both = min(1.0, evidence / (totals[i] + totals[j] - evidence))
                found.append(Pair(a.key, b.key, min(score, 1.0), _matched_lines(a, shared),
                                  _matched_lines(b, shared), evidence * both, len(shared)))
        return sorted(found, key=lambda p: (-p.evidence, -p.score, p.first, p.second))


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off while an index is built: it makes no cycles (dicts
    and lists of numbers and strings), and the collector's passes over its millions of objects
    cost more as the class grows (a fifth of the time at 16,000 submissions)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def similar_pairs(codes: dict, released: str = "", threshold: float = THRESHOLD,
                  common: int = COMMON) -> list[Pair]:
    """Flagged pairs among {student: code of one cell}, the strongest evidence first."""
    with collector_paused():
        index = Index(released, common)
        for key, code in sorted(codes.items()):
            index.add(key, code)
        return index.pairs(threshold)


def groups_of(pairs: list[Pair], largest: int = COMMON, kin: float = KIN) -> list[list[Pair]]:
    """Flagged pairs joined into groups of submissions alike in the same way, strongest pair
    first: five copies of one answer are one group, not ten pairs. A pair joins two groups only
    when its evidence is at least `kin` times each group's strongest (a copied answer and an
    honest one that resembles it stay apart) and the group stays within `largest` members (no
    group lumps a class together); otherwise it is a group of its own. Strongest group first."""
    parent, size, strongest = {}, {}, {}

    def root(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    grouped, alone = collections.defaultdict(list), []
    for pair in pairs:  # strongest first
        a, b = root(pair.first), root(pair.second)
        for r in (a, b):
            size.setdefault(r, 1)
            strongest.setdefault(r, pair.evidence)
        alike = pair.evidence >= kin * max(strongest[a], strongest[b])
        if a == b and alike:
            grouped[a].append(pair)
        elif a != b and alike and size[a] + size[b] <= largest:
            parent[a], size[b] = b, size[a] + size[b]
            strongest[b] = max(strongest[a], strongest[b])
            grouped[b] += grouped.pop(a, []) + [pair]
        else:
            alone.append([pair])
    groups = list(grouped.values()) + alone
    return sorted(groups, key=lambda g: (-max(p.evidence for p in g), g[0].first, g[0].second))
