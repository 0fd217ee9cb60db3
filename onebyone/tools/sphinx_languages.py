"""A Sphinx extension for the book's two editions (`sphinx: extra_extensions`).

The English site is `_build/html/`, the Chinese one `_build/html/zh/` (onebyone.tools.translation
builds it). This extension
- puts a link to the same page in the other edition in every page's header (the template
  `sphinx_templates/language-switch.html`, before the theme's header buttons);
- translates the alt text of figures drawn by code (cell metadata `mystnb: image: alt:`, and
  the alt texts the course's diagrams compute): Sphinx's own extraction misses those images.
  The gettext build adds each alt text to the page's catalogue; the Chinese build replaces it
  by the catalogue's translation;
- lets a translated paragraph use the page's glued numbers (`{glue:text}` roles in a msgstr):
  Sphinx parses each translation on its own, and MyST-NB then has no notebook for it, so the
  role would find no glue data. The parser below hands the page's notebook renderer to the
  translated snippets of that page: the Chinese page shows the numbers computed for the English
  one, never numbers typed into a catalogue;
- translates the words a page glues into its prose (`glued_phrases`);
- points a Chinese page's links to the published site (a released notebook's link to its
  chapter) at the Chinese page (`localise_site_links`);
- gives the Chinese build its own folder for the files MyST-NB writes while reading notebooks
  (`onebyone_edition_outputs`): by default that folder is next to the output folder, which for
  `_build/html/zh` would be inside the English site.
"""

import pathlib
import re

from docutils import nodes

TEMPLATES = pathlib.Path(__file__).resolve().parent / "sphinx_templates"
EDITION = "zh"  # the Chinese edition's folder inside the English site (translation.EDITION)
SWITCH = "language-switch.html"


class _KeepsRenderer(dict):
    """A document's attributes that remember the notebook renderer MyST-NB drops after parsing."""

    kept = None

    def pop(self, key, *default):
        value = super().pop(key, *default)
        if key == "nb_renderer":
            self.kept = value
        return value


def translatable_parser():
    """MyST-NB's parser, whose translated snippets (Sphinx's msgstr) can paste glue data."""
    from myst_nb.sphinx_ import Parser
    from myst_parser.parsers.sphinx_ import MystParser

    class TranslatableNbParser(Parser):
        def parse(self, inputstring, document):
            env = document.settings.env
            if document.current_source.endswith("<translated>"):  # a msgstr of this page
                renderer = env.temp_data.get("onebyone_nb_renderer")
                if renderer is not None:
                    document.attributes["nb_renderer"] = renderer
                MystParser.parse(self, inputstring, document)  # what MyST-NB does for msgstr
                document.attributes.pop("nb_renderer", None)
                return
            document.attributes = _KeepsRenderer(document.attributes)
            super().parse(inputstring, document)
            renderer = document.attributes.kept
            document.attributes = dict(document.attributes)
            # Sphinx translates this page's paragraphs next, while reading the same document.
            env.temp_data["onebyone_nb_renderer"] = renderer
            if renderer is not None:
                glued_phrases(env.app, env.docname, renderer.renderer.nb_client.glue_data)

    return TranslatableNbParser


# A glued string of words: no digits, except in a kernel size such as 1×1 (fixed, never measured)
GLUED_PHRASE = re.compile(r"""^(['"])(?=.*[A-Za-z]{2})((?:[^0-9]|\d+×\d+(?![×\d]))*)\1$""", re.S)
# A catalogue entry that is a glued phrase carries this comment. A phrase that depends on a
# measurement ("more than") changes from build to build, so the extraction keeps every phrase a
# catalogue ever had (not only this build's): the translation is there whichever one comes.
GLUED_COMMENT = "glued: words the page computes; every variant stays in the catalogue"
GLUED_LIST = "glued-phrases.json"  # in the gettext output: {domain: [phrases]}, for translation.py


def glued_phrases(app, docname, glue_data):
    """Words a page glues into its prose ("higher", a verdict), translated like its paragraphs.

    The gettext build adds each glued string without digits to the page's catalogue, with the
    glued phrases the catalogue already has; the Chinese build pastes its translation instead. A
    glued string with other digits than a kernel size (a timing, "6.4 times faster") changes
    from build to build: it is left as it is, in English.
    """
    from sphinx.util.i18n import docname_to_domain

    domain = docname_to_domain(docname, app.config.gettext_compact)
    if app.builder.name == "gettext":
        from sphinx.builders.gettext import MsgOrigin

        phrases = {found.group(2) for found in map(_glued_phrase, glue_data.values()) if found}
        phrases |= catalogued_glued_phrases(app, domain)
        for phrase in sorted(phrases):
            app.builder.catalogs[domain].add(phrase, MsgOrigin(app.env.doc2path(docname), 0))
        app.builder.onebyone_glued = getattr(app.builder, "onebyone_glued", {})
        app.builder.onebyone_glued[domain] = sorted(phrases)
    elif is_chinese(app.config):
        translator = _translator(app, domain)
        for value in glue_data.values():
            found = _glued_phrase(value)
            if found:
                value["data"]["text/plain"] = repr(translator.gettext(found.group(2)))


def _glued_phrase(value):
    return GLUED_PHRASE.match(value.get("data", {}).get("text/plain", ""))


def catalogued_glued_phrases(app, domain):
    """The glued phrases the page's catalogues hold (entries with GLUED_COMMENT)."""
    from babel.messages.pofile import read_po

    phrases = set()
    for folder in app.config.locale_dirs:
        for po in (pathlib.Path(app.srcdir) / folder).glob(f"*/LC_MESSAGES/{domain}.po"):
            with open(po, "rb") as handle:
                phrases |= {m.id for m in read_po(handle) if GLUED_COMMENT in m.user_comments}
    return phrases


def write_glued_list(app, exception):
    """The gettext build: which entries are glued phrases (translation.py marks them)."""
    if app.builder.name == "gettext" and exception is None:
        import json

        glued = getattr(app.builder, "onebyone_glued", {})
        (pathlib.Path(app.outdir) / GLUED_LIST).write_text(json.dumps(glued, indent=1))


def _translator(app, domain):
    """The gettext translations of one page (its .mo, compiled by Sphinx from its .po)."""
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import CatalogRepository

    repository = CatalogRepository(app.srcdir, app.config.locale_dirs, app.config.language,
                                   app.config.source_encoding)
    return init_locale(list(repository.locale_dirs), app.config.language, domain)[0]


def is_chinese(config):
    return (config.language or "en").lower().startswith("zh")


def configure(app, config):
    config.templates_path.append(str(TEMPLATES))
    if is_chinese(config) and config.html_baseurl:
        # A Chinese page's own address (its <link rel="canonical">) is under zh/; the English
        # site's address is kept for the links that point into the site.
        config.onebyone_site = config.html_baseurl.rstrip("/")
        config.html_baseurl = f"{config.onebyone_site}/{EDITION}/"
    buttons = config.html_theme_options.get("article_header_end", ["article-header-buttons.html"])
    buttons = [buttons] if isinstance(buttons, str) else list(buttons)
    if SWITCH not in buttons:
        config.html_theme_options["article_header_end"] = [SWITCH, *buttons]


def edition_outputs(app):
    """Point MyST-NB's output folder at `onebyone_edition_outputs` when it is set."""
    folder = app.config.onebyone_edition_outputs
    if folder and getattr(app.env, "mystnb_config", None) is not None:
        app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(folder))


def extract_alt_texts(app, doctree):
    """The gettext build: add every image's alt text to the page's catalogue.

    Images drawn by code (MyST-NB's outputs, the diagrams' computed alt texts) exist only while
    a page is read: Sphinx's own extraction, at writing time, misses them. So they are added
    here, when the page is read (the extraction always reads every page: translation.py)."""
    if app.builder.name != "gettext":
        return
    from sphinx.builders.gettext import MsgOrigin
    from sphinx.util.i18n import docname_to_domain

    docname = app.env.docname
    catalog = app.builder.catalogs[docname_to_domain(docname, app.config.gettext_compact)]
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            catalog.add(image["alt"], MsgOrigin(image.source or app.env.doc2path(docname),
                                                image.line or 0))


def translate_alt_texts(app, doctree, docname):
    """The Chinese build: images made from code outputs get their alt text's translation."""
    if not is_chinese(app.config) or app.builder.format != "html":
        return
    from sphinx.util.i18n import docname_to_domain

    translator = _translator(app, docname_to_domain(docname, app.config.gettext_compact))
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            image["alt"] = translator.gettext(image["alt"])


def localise_site_links(app, doctree, docname):
    """The Chinese build: a link to a page of the published site goes to its Chinese page.

    A released notebook links to its chapter at the site's address (`html.baseurl`: a
    downloaded notebook has no relative path to it), and the exercise page shows that
    notebook's text, so its translation carries the English address. On a Chinese page the
    reader wants the Chinese chapter: `<baseurl>/chapters/x.html` becomes
    `<baseurl>/zh/chapters/x.html`. Links to anything that is not a page of the book (the kit's
    wheel) stay as they are."""
    site = app.config.onebyone_site
    if not site or not is_chinese(app.config):
        return
    for reference in doctree.findall(nodes.reference):
        address = reference.get("refuri", "")
        page = edition_page(address, site, app.env.found_docs)
        if page is not None:
            reference["refuri"] = f"{site}/{EDITION}/{page}"


def edition_page(address, site, docnames):
    """`chapters/x.html#part` if `address` is a page of the book at `site`, else None."""
    if not address.startswith(site + "/"):
        return None
    page = address[len(site) + 1:]
    path = page.split("#", 1)[0]
    if path.endswith(".html") and path.removesuffix(".html") in docnames:
        return page
    return None


def has_chinese_edition(app):
    """The book has Chinese catalogues, so `onebyone book` builds its Chinese edition."""
    return any((pathlib.Path(app.srcdir) / folder / "zh_CN" / "LC_MESSAGES").is_dir()
               for folder in app.config.locale_dirs)


def counterpart(app, pagename, templatename, context, doctree):
    """The relative link from this page to the same page in the other edition."""
    up = "../" * pagename.count("/")
    if not is_chinese(app.config) and not has_chinese_edition(app):
        return  # a book without catalogues has no Chinese edition to link to
    if is_chinese(app.config):
        link = {"href": f"{up}../{pagename}.html", "lang": "en", "label": "English"}
    else:
        link = {"href": f"{up}{EDITION}/{pagename}.html", "lang": "zh-CN", "label": "中文"}
    context["onebyone_counterpart"] = link


def setup(app):
    app.add_config_value("onebyone_edition_outputs", "", "env")
    app.add_config_value("onebyone_site", "", "env")  # the English site's address (Chinese build)
    app.add_source_parser(translatable_parser(), override=True)
    app.connect("config-inited", configure)
    app.connect("builder-inited", edition_outputs, priority=600)  # after MyST-NB sets its own
    app.connect("doctree-read", extract_alt_texts)
    app.connect("doctree-resolved", translate_alt_texts)
    app.connect("doctree-resolved", localise_site_links)
    app.connect("html-page-context", counterpart)
    app.connect("build-finished", write_glued_list)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
