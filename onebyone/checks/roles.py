"""Matching the learner's torch module to the reference by role, not by the order of definition.

A correct module may be spelt many ways: named attributes or a Sequential, the shortcut defined
before the body (as torchvision writes it), in-place or functional ReLU. What every spelling keeps
is the set of layers that hold state, each with its kind and shapes (a "unit": a 1×1 convolution
from 8 to 4 channels without bias, a batch norm over 4 channels, ...), and the place of each in the
computation. So the reference's state is copied into the learner's module unit by unit:

1. The units of both modules are read from `state_dict()` (names and shapes only; the learner's
   module may be a stand-in for an object in another process, see core.py's contract). Units
   that differ in kind or shape are a structural mistake, told in words ("a batch norm over 16
   channels is missing").
2. Units of the same kind and shapes may play different roles (the expanding 1×1 convolution and
   the shortcut's projection). Their roles are found by behaviour: with every batch norm made the
   identity, try the assignments of the other units until the output matches the reference's;
   then give one batch norm at a time real values (the others stay the identity) and see which of
   the learner's batch norms reproduces the reference's output.

If no assignment reproduces the output (a mistake after the layers, a ReLU6 on a linear output),
the order of definition is kept, and a batch norm takes the role of the one that follows the same
convolution: the comparison that follows then says what is wrong with the output.
"""

import collections
import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from onebyone.checks.core import CheckFailure, compare_arrays, construct_learner, forward
from onebyone.checks.messages import _

MAX_TRIES = 720  # assignments tried for units of the same shape (6! = 720)


@dataclass(frozen=True)
class Unit:
    """A layer that holds state: its path in the module and the shapes of its tensors."""

    owner: str  # the layer's path in the module ("" for the module itself)
    leaves: tuple  # ((name, shape), ...), sorted by name

    @property
    def signature(self):
        return self.leaves

    def key(self, leaf):
        return f"{self.owner}.{leaf}" if self.owner else leaf


def units(state):
    """The units of a state_dict, in the order their first tensor appears."""
    by_owner = {}
    for key, value in state.items():
        owner, _dot, leaf = key.rpartition(".")
        by_owner.setdefault(owner, {})[leaf] = tuple(value.shape)
    return [Unit(owner, tuple(sorted(leaves.items()))) for owner, leaves in by_owner.items()]


def kind(signature):
    """'norm', 'conv', 'linear' or 'other', from the tensors a unit holds."""
    shapes = dict(signature)
    if "running_var" in shapes:
        return "norm"
    weight = shapes.get("weight", ())
    return {4: "conv", 2: "linear"}.get(len(weight), "other")


def describe(signature):
    """A unit in a learner's words: 'a 3×3 convolution from 4 to 8 channels, without bias'."""
    shapes = dict(signature)
    found = kind(signature)
    if found == "norm":
        return _("a batch norm over {channels} channels").format(
            channels=shapes["running_var"][0])
    if found == "conv":
        out, inp, kh, kw = shapes["weight"]
        article = "an" if str(kh).startswith(("8", "11", "18")) else "a"  # English only
        told = (_("{article} {kh}×{kw} convolution from {inp} to {out} channels, with bias")
                if "bias" in shapes else
                _("{article} {kh}×{kw} convolution from {inp} to {out} channels, without bias"))
        return told.format(article=article, kh=kh, kw=kw, inp=inp, out=out)
    if found == "linear":
        out, inp = shapes["weight"]
        told = (_("a Linear layer from {inp} to {out} features, with bias") if "bias" in shapes
                else _("a Linear layer from {inp} to {out} features, without bias"))
        return told.format(inp=inp, out=out)
    return _("a layer holding {tensors}").format(
        tensors=", ".join(f"{name} {shape}" for name, shape in signature))


def structure_message(item, missing, extra, learner_units=(), explain=None):
    """The learner's message when the units differ: a guess at the mistake, then the lists."""
    lines = [_("{item}: your module does not hold the layers it needs.").format(item=item)]
    guess = explain(missing, extra, learner_units) if explain else ""
    if guess:
        lines.append(guess)

    def listed(counter):
        return "; ".join(describe(sig) + (f" (×{n})" if n > 1 else "")
                         for sig, n in counter.items())

    if missing:
        lines.append(_("Missing from yours: {layers}.").format(layers=listed(missing)))
    if extra:
        lines.append(_("In yours but not needed: {layers}.").format(layers=listed(extra)))
    return "\n".join(lines)


def _neutral(reference_units, values):
    """`values` with every batch norm made the identity (scale 1, shift 0, statistics (0, 1))."""
    neutral = dict(values)
    fill = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}
    for unit in reference_units:
        if kind(unit.signature) == "norm":
            for leaf, number in fill.items():
                key = unit.key(leaf)
                if key in neutral:
                    neutral[key] = torch.full_like(neutral[key], number)
    return neutral


def _error(got, expected):
    if got.shape != expected.shape:
        return math.inf
    if not np.all(np.isfinite(got)):
        return math.inf
    return float(np.max(np.abs(got - expected), initial=0.0))


class _Prober:
    """Loads a reference state into the learner under an assignment of units, and runs both."""

    def __init__(self, reference, learner, x, item, reference_units, learner_units):
        self.reference, self.learner, self.x, self.item = reference, learner, x, item
        self.by_owner = {u.owner: u for u in learner_units}
        self.reference_units = reference_units

    def mapped(self, assignment, values):
        """{learner key: value}: each reference unit's tensors under its learner unit's names."""
        state = {}
        for unit in self.reference_units:
            target = self.by_owner[assignment[unit.owner]]
            for leaf, _shape in unit.signature:
                state[target.key(leaf)] = values[unit.key(leaf)].clone()
        return state

    def expected(self, values):
        """The reference's output (eval mode) when it holds `values`."""
        self.reference.load_state_dict(values)
        self.reference.eval()
        with torch.no_grad():
            return self.reference(self.x).double().numpy()

    def error(self, assignment, values, expected):
        """How far the learner's output, holding `values` under `assignment`, is from `expected`
        (relative to the size of `expected`)."""
        self.learner.load_state_dict(self.mapped(assignment, values))
        try:
            got = forward(self.learner, self.x, self.item)
        except CheckFailure:
            return math.inf
        scale = 1.0 + float(np.max(np.abs(expected), initial=0.0))
        return _error(got, expected) / scale


def match(reference, learner, x, item, explain=None, tolerance=1e-5):
    """Copy the reference's state into the learner's module, unit by unit, matched by role.

    `x` is an input both modules accept; `explain(missing, extra, learner_units)` may return a
    sentence naming the mistake when the learner's units differ from the reference's (`missing`
    and `extra` are Counters of unit signatures). Returns {reference unit path: learner unit path}.
    """
    values = {k: v.detach().clone() for k, v in reference.state_dict().items()}
    learner_state = learner.state_dict()
    reference_units, learner_units = units(values), units(learner_state)
    want = collections.Counter(u.signature for u in reference_units)
    have = collections.Counter(u.signature for u in learner_units)
    if want != have:
        raise CheckFailure(structure_message(item, want - have, have - want, learner_units,
                                             explain))

    groups = collections.defaultdict(lambda: ([], []))
    for unit in reference_units:
        groups[unit.signature][0].append(unit.owner)
    for unit in learner_units:
        groups[unit.signature][1].append(unit.owner)
    assignment = {r: g for refs, gots in groups.values() for r, g in zip(refs, gots, strict=True)}
    prober = _Prober(reference, learner, x, item, reference_units, learner_units)
    try:
        ambiguous = [sig for sig, (refs, _gots) in groups.items() if len(refs) > 1]
        if ambiguous and prober.error(assignment, values, prober.expected(values)) > tolerance:
            _search(prober, groups, ambiguous, assignment, values, tolerance)
    finally:
        reference.load_state_dict(values)
    learner.load_state_dict(prober.mapped(assignment, values))
    return assignment


def _search(prober, groups, ambiguous, assignment, values, tolerance):
    """Find the roles of same-shaped units by probing (see the module's docstring)."""
    neutral = _neutral(prober.reference_units, values)
    norms = [sig for sig in ambiguous if kind(sig) == "norm"]
    others = [sig for sig in ambiguous if kind(sig) != "norm"]
    if others:  # every batch norm the identity: only the other units' roles matter
        expected = prober.expected(neutral)
        choices = itertools.product(*(itertools.permutations(groups[sig][1]) for sig in others))
        for combo in itertools.islice(choices, MAX_TRIES):
            trial = dict(assignment)
            for sig, order in zip(others, combo, strict=True):
                trial.update(zip(groups[sig][0], order, strict=True))
            if prober.error(trial, neutral, expected) <= tolerance:
                assignment.update(trial)
                break
        # (no assignment reproduces the output: the order of definition is kept, so that the
        # comparison that follows can still recognise a known mistake)
    owners = {u.owner: u for u in prober.reference_units}
    for sig in norms:  # one batch norm at a time holds real values; the others the identity
        free = list(groups[sig][1])
        for ref in groups[sig][0]:
            chosen = free[0]
            if len(free) > 1:  # the last one left needs no probe
                probe = dict(neutral)
                for leaf, _shape in sig:
                    probe[owners[ref].key(leaf)] = values[owners[ref].key(leaf)]
                expected = prober.expected(probe)
                chosen = next((candidate for candidate in free
                               if prober.error(_swapped(assignment, ref, candidate), probe,
                                               expected) <= tolerance),
                              _beside(prober, assignment, ref, free))
            assignment.update(_swapped(assignment, ref, chosen))
            free.remove(chosen)


def _conv_before(units_, owner):
    """The convolution defined last before the batch norm `owner` with as many output channels as
    it normalises (its likely input), or None."""
    owners = [u.owner for u in units_]
    channels = dict(units_[owners.index(owner)].signature)["running_var"][0]
    convs = [u.owner for u in units_[:owners.index(owner)]
             if kind(u.signature) == "conv" and dict(u.signature)["weight"][0] == channels]
    return convs[-1] if convs else None


def _beside(prober, assignment, ref, free):
    """When no learner batch norm reproduces the output under probing (the module has a mistake
    after them, a ReLU6 on a linear output), the one that follows the convolution playing the
    role of the one `ref` follows; failing that, the order of definition."""
    conv = _conv_before(prober.reference_units, ref)
    learner_units = list(prober.by_owner.values())
    for candidate in free:
        if conv is not None and _conv_before(learner_units, candidate) == assignment.get(conv):
            return candidate
    return assignment[ref] if assignment[ref] in free else free[0]


def _swapped(assignment, ref, target):
    """The assignment with `ref` sent to `target` (whoever had `target` takes ref's old one)."""
    trial = dict(assignment)
    holder = next(r for r, g in assignment.items() if g == target)
    trial[holder], trial[ref] = assignment[ref], target
    return trial


def submodules(module):
    """[(path, submodule)] of the learner's module: through named_modules(), which a stand-in
    for a module in another process supports. Empty if that fails (it only explains)."""
    try:
        return list(module.named_modules())
    except Exception:  # an explanation is a bonus: never fail a check for it
        return []


def setting(module, name, default=None):
    """A plain setting of a learner's layer (kernel_size, stride, padding, in_channels) as an int
    or a tuple of ints, or `default`. Read only to explain a mistake, never to judge."""
    try:
        value = getattr(module, name)
    except Exception:  # a stand-in may refuse; an explanation is a bonus
        return default
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return default


def shown(value):
    """A setting as a learner would write it: 1 for (1, 1), (1, 2) as it is."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value


def pair(value):
    """An int setting as a pair (3 -> (3, 3)), a tuple as it is."""
    return (value, value) if isinstance(value, int) else value


def layers_of(module, kind_):
    """[(path, layer)] of the learner's layers of a torch class (nn.Conv2d, nn.MaxPool2d)."""
    return [(path, layer) for path, layer in submodules(module) if isinstance(layer, kind_)]


def compare_modules(learner, reference, x, item, modes=("eval",), mistakes=None, explain=None,
                    diagnose=None, atol=1e-4, rtol=1e-4):
    """Copy the reference's state into the learner's module by role, then compare their outputs.

    `modes`: "eval" (batch norm with running statistics) and/or "train" (batch statistics).
    `mistakes(mode)` may return (description, array) pairs: outputs of known wrong variants.
    `explain(missing, extra, learner_units)`: a guess at a structural mistake (see `match`).
    `diagnose(learner)`: when the output is wrong and no known mistake matches it, a sentence read
    from the learner's layers ("your 3×3 convolution has stride 1 ..."); behaviour decides, the
    layers' settings only explain.
    """
    match(reference, learner, x, item, explain=explain)
    for mode in modes:
        train = mode == "train"
        reference.train(train)
        with torch.no_grad():
            expected = reference(x).double().numpy()
        try:
            got = forward(learner, x, item, train=train)
        except CheckFailure as failure:  # a shape error: the layers' settings may say why
            told = diagnose(learner) if diagnose else ""
            if told:
                raise CheckFailure(f"{item}: {told}\n({failure})") from None
            raise
        name = _("{item}(x) in {mode}() mode").format(item=item, mode=mode)
        try:
            compare_arrays(got, expected, name, atol=atol, rtol=rtol)
        except CheckFailure:
            _explain_failure(got, expected, name, mode, mistakes, diagnose, learner, item,
                             atol, rtol)


def _explain_failure(got, expected, name, mode, mistakes, diagnose, learner, item, atol, rtol):
    """Raise the best message for a wrong output: a known mistake (the known wrong variants'
    outputs are computed only now, when they are needed), else the learner's layer settings,
    else where the output differs."""
    known = mistakes(mode) if mistakes else ()
    try:
        compare_arrays(got, expected, name, mistakes=known, atol=atol, rtol=rtol)
    except CheckFailure as failure:
        named = getattr(failure, "names_a_mistake", False)  # a known mistake says it best
        told = "" if named or diagnose is None else diagnose(learner)
        if told:
            raise CheckFailure(f"{item}: {told}\n({failure})") from None
        raise


# --- a reference module the kit does not hold: its state and outputs, recorded ------------------


def _probes(state):
    """{name: state} of every state `match` may load into the reference: the real one, every
    batch norm the identity ("neutral"), and one batch norm real at a time ("probe:<owner>")."""
    found = {"values": state, "neutral": _neutral(units(state), state)}
    for unit in units(state):
        if kind(unit.signature) == "norm":
            probe = dict(found["neutral"])
            for leaf, _shape in unit.signature:
                probe[unit.key(leaf)] = state[unit.key(leaf)]
            found[f"probe:{unit.owner}"] = probe
    return found


def _state_key(state):
    from onebyone.checks.reference import digest  # (reference.py imports nothing of roles)

    return digest("state", [sorted((k, v.detach().double().numpy()) for k, v in state.items())])


def module_record(cls, args, seed, shape):
    """What the checks need of a reference module `cls(*args)` with seeded state, on a seeded
    input of `shape`: its state, the input, and its output (eval and train mode) under every
    state `match` may load. Run by the instructor's tools on the reference class; the kit's
    checks replay it with RecordedModule."""
    from onebyone.checks.core import randomize_state

    module = randomize_state(cls(*args), seed)
    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=shape)).float()
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    outputs = {}
    for name, values in _probes(state).items():
        for mode in ("eval", "train"):
            module.load_state_dict(values)
            module.train(mode == "train")
            with torch.no_grad():
                outputs[f"{name}/{mode}"] = module(x).double().numpy()
    return {"state": {k: v.numpy() for k, v in state.items()}, "x": x.numpy(),
            "outputs": outputs}


def learner_and_reference(cls, name, args, assignment, seed, size, item):
    """The learner's module `cls(*args)` and, in its place for `compare_modules`, the reference
    recorded for the same arguments (`module:<name>` of the assignment's reference outputs), with
    its seeded input of shape [2, args[0], *size] (args[0]: the input channels)."""
    from onebyone.checks.reference import reference  # (reference.py imports nothing of roles)

    learner = construct_learner(cls, *args, item=item)
    record = reference(assignment)(f"module:{name}", list(args), seed, [2, args[0], *size])
    return learner, RecordedModule(record)


class RecordedModule:
    """Stands in for the reference module in `match` and `compare_modules`, from a record made by
    `module_record`: the same state_dict, and the recorded output for whichever recorded state
    was last loaded."""

    def __init__(self, record):
        self.state = {k: torch.from_numpy(np.asarray(v)) for k, v in record["state"].items()}
        self.x = torch.from_numpy(np.asarray(record["x"]))
        self.outputs = record["outputs"]
        self.names = {_state_key(values): name for name, values in _probes(self.state).items()}
        self.loaded, self.mode = "values", "eval"

    def state_dict(self):
        return {k: v.clone() for k, v in self.state.items()}

    def load_state_dict(self, values):
        self.loaded = self.names.get(_state_key(values))

    def train(self, mode=True):
        self.mode = "train" if mode else "eval"
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, x):
        if self.loaded is None or not torch.equal(x, self.x):
            raise KeyError("no recorded output for this state or input")
        return torch.from_numpy(np.asarray(self.outputs[f"{self.loaded}/{self.mode}"]))
