#!/usr/bin/env python3
"""Pages build HTML only through html() (src/html.h), which escapes every
value.  These checks find any other way into a page:

  1. markup (a string literal with an HTML tag) anywhere in src/ but in an
     html() template;
  2. html_fmt() called other than through the html() macro, which is what
     makes the template a string literal;
  3. a buf_* write straight into a page body (b or res->body) in a file
     that builds pages: the way a raw value once reached the admin page;
  4. the compiler accepting html() with a template that is not a literal.

    tests/lint_html.py [SRC_DIR]    prints each finding; exit 1 if any
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The elements a page of ours could use, opening or closing.
TAG = re.compile(
    r"</?(?:!doctype|a|abbr|b|body|br|button|caption|code|dd|div|dl|dt|em"
    r"|form|h[1-6]|head|html|i|iframe|img|input|label|li|link|main|meta"
    r"|nav|ol|option|p|pre|script|select|small|span|strong|style|table"
    r"|tbody|td|textarea|th|thead|time|title|tr|ul)[\s>/]", re.I)
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
PAGE_WRITE = re.compile(
    r"\bbuf_(?:add|adds|addc|printf|vprintf|add_pct|add_form)\s*\(\s*"
    r"(?:b|&\s*res\s*->\s*body|&\s*res\s*\.\s*body)\s*,\s*([A-Za-z_]\w*)?")
# Not HTML: the stylesheet, a static literal served as text/css.
PAGE_WRITE_OK = {("page.c", "stylesheet")}


def tokens(text):
    """The text with comments and character constants blanked (lengths
    kept, for line numbers), and (start, end) of each string literal."""
    out, strings, i = list(text), [], 0
    while i < len(text):
        if text.startswith("/*", i):
            j = text.index("*/", i) + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
        elif text[i] in "\"'":
            j = i + 1
            while text[j] != text[i]:
                j += 2 if text[j] == "\\" else 1
            j += 1
            if text[i] == '"':
                strings.append((i, j))
                i = j
                continue
        else:
            i += 1
            continue
        out[i:j] = re.sub(r"[^\n]", " ", text[i:j])
        i = j
    return "".join(out), strings


def calls(text, name):
    """(start, end) of each call name(...) in code without comments or
    character constants (strings are skipped), parentheses balanced."""
    for m in re.finditer(r"\b%s\s*\(" % name, text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            c = text[i]
            if c == '"':
                i = LITERAL.match(text, i).end()
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    yield m.start(), i + 1
                    break
            i += 1


def line(text, pos):
    return text.count("\n", 0, pos) + 1


def check_sources(src):
    found = []
    for path in sorted(src.glob("*.[ch]")):
        if path.name in ("html.c", "html.h"):
            continue
        text, strings = tokens(path.read_text())
        inside = [c for c in calls(text, "html")]
        for a, b in strings:
            if any(x <= a < y for x, y in inside):
                continue
            if TAG.search(text[a:b]):
                found.append(f"{path.name}:{line(text, a)}: markup outside "
                             f"html(): {text[a:b][:60]}")
        for m in re.finditer(r"\bhtml_fmt\s*\(", text):
            found.append(f"{path.name}:{line(text, m.start())}: html_fmt() "
                         "called directly: use html(), which sees that the "
                         "template is a literal")
        if not (path.name.startswith("handler_") or path.name == "page.c"):
            continue
        for m in PAGE_WRITE.finditer(text):
            if (path.name, m.group(1)) in PAGE_WRITE_OK:
                continue
            found.append(f"{path.name}:{line(text, m.start())}: a page "
                         f"written around html(): {m.group().strip()}")
    return found


def compiles(body):
    with tempfile.NamedTemporaryFile("w", suffix=".c") as f:
        f.write('#include "html.h"\nvoid f(struct buf *b, const char *t);\n'
                "void f(struct buf *b, const char *t)\n{\n\t(void)t;\n"
                f"\t{body};\n}}\n")
        f.flush()
        r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wformat=2",
                            "-Werror", "-I", str(ROOT / "src"),
                            "-fsyntax-only", f.name],
                           capture_output=True, text=True)
        return r.returncode == 0


def check_compiler():
    found = []
    if not compiles('html(b, "<p>%s</p>", t)'):
        found.append("html() with a literal template does not compile")
    if compiles("html(b, t)"):
        found.append("html() compiles with a template that is a variable")
    if compiles('html(b, 1 ? "<p>" : t)'):
        found.append("html() compiles with a template that is an expression")
    if compiles("html_fmt(b, t)"):
        found.append("html_fmt() compiles with a variable template")
    return found


def main(argv):
    src = Path(argv[1]) if len(argv) > 1 else ROOT / "src"
    found = check_sources(src) + check_compiler()
    for f in found:
        print(f)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
