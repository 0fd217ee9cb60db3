"""The Chinese exercise notebooks and the checks that speak Chinese.

- each committed Chinese notebook (exercises/<id>/zh_CN/<id>.ipynb) is what `make exercises`
  makes from today's release and catalogue, every block translated;
- it differs from the English release only in text: the same cells, ids, metadata and code,
  except the setup cell's added language line and its install message's words (the same fields
  and commands); the same code blocks, code spans and links;
- the checks' catalogue is current with the checks' source and complete, its translations keep
  every {field} and number, and the stdlib's gettext reads from the compiled .mo what Babel reads
  from the .po;
- run with the reference answers, every public test cell of a Chinese notebook prints the
  catalogue's Chinese ✓ line for what the English notebook's cell prints, and the notebook's
  own sample line is that line.
Grading a Chinese submission: test_mutants.py (nbgrader) and test_grading_chinese.py.
"""

import ast
import contextlib
import io
import json
import re
import string

import nbformat
import pytest
from books import ROOT

from onebyone.checks import messages
from onebyone.tools import check_messages, chinese_notebooks, kit, release

ASSIGNMENTS = release.assignments(ROOT)
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.S | re.M)
COMMENT = re.compile(r"<!--.*?-->", re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
TICK = "\u2713"


def english(assignment):
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def chinese(assignment):
    path = chinese_notebooks.chinese_path(ROOT / "exercises" / assignment / f"{assignment}.ipynb")
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make exercises`"
    return nbformat.read(path, as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_notebook_is_current_and_fully_translated(assignment):
    """What `make exercises` would write today, from the release and the page's catalogue."""
    table = chinese_notebooks.translations(chinese_notebooks.catalogue_path(assignment, ROOT))
    made = chinese_notebooks.translate_notebook(english(assignment), table,
                                                kit.site_address(ROOT))
    assert not made.untranslated, (f"{assignment}: blocks without a current translation "
                                   f"(`make translations`, then translate): {made.untranslated}")
    assert json.loads(nbformat.writes(made.notebook)) == json.loads(
        nbformat.writes(chinese(assignment))), (
        f"exercises/{assignment}/zh_CN is stale: run `make exercises` and commit the result")


def _setup_addition(english_source, chinese_source):
    """The statements of the lines the Chinese setup cell adds to the English one, which must
    be there, unchanged, around them."""
    import difflib
    import textwrap

    en, zh = english_source.splitlines(), chinese_source.splitlines()
    changes = [op for op in difflib.SequenceMatcher(a=en, b=zh, autojunk=False).get_opcodes()
               if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"], f"the setup's code changed: {changes}"
    _, _, _, start, stop = changes[0]
    added = ast.parse(textwrap.dedent("\n".join(zh[start:stop])))
    assert ast.dump(ast.parse(chinese_source))  # the whole cell is still Python
    return [ast.dump(node) for node in added.body]


def _install_message(source):
    """(its lines, the fields it fills, its words, the commands it gives) of the message the
    setup's `except ImportError` raises."""
    tree = ast.parse(source)
    handler = next(h for node in ast.walk(tree) if isinstance(node, ast.Try)
                   for h in node.handlers)
    call = next(n for n in ast.walk(handler) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "ImportError")
    message = call.args[0]  # one f-string made of the adjacent literals
    fields = [[ast.dump(name) for name in ast.walk(n.value) if isinstance(name, ast.Name)]
              for n in ast.walk(message) if isinstance(n, ast.FormattedValue)]  # their words aside
    words = "".join(n.value if isinstance(n, ast.Constant) else "{}" for n in message.values)
    commands = re.findall(r"pip install \S+(?: --index-url \S+)?", words)
    return (message.lineno, message.end_lineno), fields, words, commands


def _setup_without_its_words(english_source, chinese_source):
    """The Chinese setup's code with the English install message put back, once its fields and
    commands are checked to be the English message's and its words Chinese."""
    (start, stop), fields, _, commands = _install_message(english_source)
    (zh_start, zh_stop), zh_fields, zh_words, zh_commands = _install_message(chinese_source)
    assert zh_fields == fields and zh_commands == commands and len(commands) == 2, (
        "the install message's fields or commands changed")
    assert CJK.search(zh_words), "the install message is not in Chinese"
    lines = chinese_source.splitlines()
    lines[zh_start - 1:zh_stop] = english_source.splitlines()[start - 1:stop]
    return "\n".join(lines)


def _code_of_markdown(text):
    """What a translation must leave as it is: code blocks, comments, code spans (the ✓ sample
    line aside: it shows the Chinese line), link targets (the Chinese edition's for the site)."""
    blocks = FENCE.findall(text) + COMMENT.findall(text)
    prose = re.sub(r"\s*\n\s*", " ", COMMENT.sub(" ", FENCE.sub(" ", text)))  # lines joined
    spans = sorted(s for s in CODE_SPAN.findall(prose) if not s.startswith(TICK))
    links = sorted(t.replace("/zh/", "/") for t in LINK_TARGET.findall(prose))
    return blocks, spans, links


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_notebook_differs_from_the_release_only_in_text(assignment):
    only_text_differs(english(assignment), chinese(assignment))


@pytest.mark.parametrize("change", ["a test's code", "a cell's id", "a checksum", "a code span",
                                    "the setup's code", "the install command", "a cell left out"])
def test_a_chinese_notebook_that_differs_in_more_than_text_is_caught(change):
    assignment = ASSIGNMENTS[0]
    zh = chinese(assignment)
    test = next(c for c in zh.cells if c.metadata.get("nbgrader", {}).get("grade"))
    markdown = next(c for c in zh.cells if c.cell_type == "markdown" and "`" in c.source)
    setup = next(c for c in zh.cells if grade_id(c) == "setup")
    if change == "a test's code":
        test.source = test.source.replace("check.", "check .", 1)
    elif change == "a cell's id":
        test["id"] = "another-id"
    elif change == "a checksum":
        test.metadata["nbgrader"]["checksum"] = "0" * 32
    elif change == "a code span":
        markdown.source = re.sub(r"`([^`]+)`", r"`\1 `", markdown.source, count=1)
    elif change == "the setup's code":
        setup.source = setup.source.replace("import numpy as np", "import numpy as numpy")
    elif change == "the install command":
        setup.source = setup.source.replace("pip install {KIT}", "pip install onebyone")
    else:
        zh.cells.remove(test)
    with pytest.raises(AssertionError):
        only_text_differs(english(assignment), zh)


def only_text_differs(en, zh):
    """Fail unless the Chinese notebook `zh` is the English `en` but for its text."""
    assert zh.metadata == en.metadata and (zh.nbformat, zh.nbformat_minor) == (
        en.nbformat, en.nbformat_minor)
    assert [(c.cell_type, c.get("id"), c.metadata) for c in zh.cells] == \
        [(c.cell_type, c.get("id"), c.metadata) for c in en.cells]
    expected_setup = [ast.dump(node) for node in ast.parse(
        "from onebyone.checks import language\nlanguage('zh_CN')").body]
    for en_cell, zh_cell in zip(en.cells, zh.cells, strict=True):
        if en_cell.cell_type == "code" and grade_id(en_cell) == "setup":
            assert _setup_addition(en_cell.source, _setup_without_its_words(
                en_cell.source, zh_cell.source)) == expected_setup
        elif en_cell.cell_type == "code":
            assert zh_cell.source == en_cell.source, grade_id(en_cell)
        else:
            assert CJK.search(zh_cell.source), f"{grade_id(en_cell)} is not in Chinese"
            assert _code_of_markdown(zh_cell.source) == _code_of_markdown(en_cell.source), \
                grade_id(en_cell)
            assert sorted(NUMBER.findall(zh_cell.source)) == sorted(
                NUMBER.findall(en_cell.source)), grade_id(en_cell)


# --- the checks' catalogue ------------------------------------------------------------------


def _checks_catalogue():
    return check_messages.read(check_messages.catalogue_path("zh_CN"))


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_checks_catalogue_is_current_and_complete():
    """Every message in the checks' source is in the catalogue, translated, none fuzzy."""
    wanted = {m.id for m in check_messages.template() if m.id}
    catalogue = [m for m in _checks_catalogue() if m.id]
    assert wanted == {m.id for m in catalogue}, (
        "run `make translations`, then translate: "
        f"{sorted(map(str, wanted ^ {m.id for m in catalogue}))[:10]}")
    todo = [m.id for m in catalogue if m.fuzzy or not all(
        m.string if isinstance(m.string, tuple) else (m.string,))]
    assert not todo, f"untranslated or fuzzy in {check_messages.catalogue_path('zh_CN')}: {todo}"


def test_the_checks_translations_keep_every_field_and_number():
    """A {field} the English fills must be in the translation (else .format() shows a brace or
    fails); only English grammar ({article}) may go. Numbers stay."""
    wrong = []
    for m in _checks_catalogue():
        if not m.id:
            continue
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            if not _fields(text) <= _fields(source) or _fields(source) - _fields(text) - {
                    "article"}:
                wrong.append((source, text))
            if sorted(NUMBER.findall(text)) != sorted(NUMBER.findall(source)):
                wrong.append((source, text))
            if not CJK.search(text):
                wrong.append((source, text))
    assert not wrong, wrong


def test_gettext_reads_from_the_compiled_catalogue_what_babel_reads_from_the_po():
    check_messages.compile_catalogues()
    entries = [m for m in _checks_catalogue() if m.id]
    try:
        messages.language("zh_CN")
        for m in entries:
            if isinstance(m.id, tuple):
                assert messages.ngettext(*m.id, 2) == m.string[0]
            else:
                assert messages._(m.id) == m.string
    finally:
        messages.language("en")
    assert messages._(entries[-1].id) == entries[-1].id  # English again


@pytest.mark.parametrize("code", ["xx", "zh_TW", "../../checks/locale/zh_CN", "zh_CN/../zh_CN"])
def test_an_unknown_language_is_refused_in_one_line(code):
    with pytest.raises(messages.UnknownLanguage, match=r"no messages in .*; they speak en, zh_CN"):
        messages.language(code)
    assert messages.language() == "en"


# --- a Chinese notebook run with the reference answers --------------------------------------


def _printed_lines(notebook, assignment):
    """Run the notebook's code cells (answers filled in from solutions/, hidden tests left out)
    in one namespace; {test cell id: what it printed}."""
    from graded_course import solution_code

    answers = solution_code(assignment)
    namespace, printed = {"__name__": "__main__"}, {}
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = answers.get(grade_id(cell), cell.source)
                exec(compile(code, grade_id(cell) or "cell", "exec"), namespace)
            if cell.metadata.get("nbgrader", {}).get("grade"):
                printed[grade_id(cell)] = out.getvalue().strip()
    finally:
        messages.language("en")  # this process's checks speak English again
    return printed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_public_checks_say_passed_in_chinese(assignment):
    from babel.messages.pofile import read_po

    en_lines = _printed_lines(english(assignment), assignment)
    zh = chinese(assignment)
    zh_lines = _printed_lines(zh, assignment)
    assert messages.language() == "en"
    with open(check_messages.catalogue_path("zh_CN"), "rb") as handle:
        line = next(m for m in read_po(handle) if isinstance(m.id, tuple)
                    and "public" in m.id[0]).string[0]
    public = [gid for gid, text in en_lines.items() if text]
    assert public, "no public test cell printed anything"
    for gid in public:  # "✓ conv1x1: 3 public checks passed" -> the catalogue's Chinese line
        item, count = re.fullmatch(rf"{TICK} (\w+): (\d+) public checks? passed",
                                   en_lines[gid]).groups()
        assert zh_lines[gid] == line.format(item=item, count=count), gid
    sample = re.search(rf"`({TICK} [^`]+)`", zh.cells[0].source).group(1)
    assert sample == zh_lines[public[0]], "the Chinese intro's sample line is not what it prints"


def test_a_changed_check_message_turns_fuzzy_and_is_shown_in_english_until_translated(tmp_path):
    """The translator's round trip on a package of one check: extract, translate, compile;
    then an English edit: the entry turns fuzzy, and gettext shows the new English, never the
    stale translation."""
    import gettext

    from babel.messages.pofile import write_po

    checks = tmp_path / "onebyone" / "checks"
    checks.mkdir(parents=True)
    module = checks / "demo.py"

    def step(english, translate=None):
        module.write_text(f"from onebyone.checks.messages import _\nMESSAGE = _({english!r})\n")
        po = check_messages.update(tmp_path / "onebyone")[0]
        if translate:
            catalogue = check_messages.read(po)
            for entry in catalogue:
                if entry.id:
                    entry.string, entry.flags = translate, set()
            with open(po, "wb") as handle:
                write_po(handle, catalogue, width=0)
        check_messages.compile_catalogues(tmp_path / "onebyone")
        shown = gettext.translation(check_messages.DOMAIN, check_messages.locale_dir(
            tmp_path / "onebyone"), languages=["zh_CN"]).gettext(english)
        return check_messages.read(po), shown

    catalogue, shown = step("{item}: the values are wrong.", "{item}：数值不对。")
    assert shown == "{item}：数值不对。"
    catalogue, shown = step("{item}: the values are quite wrong.")
    [entry] = [m for m in catalogue if m.id]
    assert entry.fuzzy and entry.string == "{item}：数值不对。"
    assert shown == "{item}: the values are quite wrong."
    assert translation_state(check_messages.catalogue_path("zh_CN", tmp_path / "onebyone")) == (
        1, 0, 1)


def translation_state(po):
    from onebyone.tools import translation

    state = translation.catalogue_state(po)
    return state.total, len(state.untranslated), len(state.fuzzy)


BLOCK_THE_KIT = '''import sys
class NoKit:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onebyone":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoKit())
'''


@pytest.mark.parametrize("edition", ["en", "zh_CN"])
def test_without_the_kit_the_setup_says_what_to_install_in_the_notebooks_language(edition):
    """Run the setup cell where `onebyone` cannot be imported: its ImportError is the course's
    message, in the notebook's language, with the commands to run."""
    import subprocess
    import sys

    notebook = chinese(ASSIGNMENTS[0]) if edition == "zh_CN" else english(ASSIGNMENTS[0])
    setup = next(c for c in notebook.cells if grade_id(c) == "setup").source
    done = subprocess.run([sys.executable, "-c", BLOCK_THE_KIT + setup], capture_output=True,
                          text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and last.startswith("ImportError: "), done.stderr[-800:]
    assert "onebyone" in last.split("。")[0].split(". ")[0], last  # what could not be imported
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in last
    assert f"pip install {kit.site_address(ROOT)}/kit/" in last
    assert bool(CJK.search(last)) == (edition == "zh_CN"), last
