#!/usr/bin/env python3
"""Reports C++ functions longer than a limit (issue 13: "no function in sim/, workloads/ or
calibrate/ is longer than 120 lines, kernels excepted").

A function's length runs from the first line of its signature (a `template <...>` line included) to
its closing brace. Every definition counts: free functions, member functions defined in or out of
their class, constructors and destructors, operators, functions in named or anonymous namespaces,
signatures over several lines. A lambda is part of the function that holds it. Class, struct, union,
enum, namespace and `extern "C"` braces open scopes, not functions; braces of an initializer (`= {`,
`x{...}`, a constructor's `member_{...}`) are skipped. Comments, string and character literals (raw
strings `R"d(...)d"` and their prefixes too) and preprocessor lines are blanked before any brace is
counted, so braces inside them never count.

Usage:
  function_lengths.py [--root DIR] [--limit N] [--allow FILE] [PATH...]

PATHs (files or folders, relative to --root; default: sim workloads calibrate) are searched for
.cpp/.cc/.h/.hpp files; any `kernels` folder and any .cu/.cuh file are skipped. Exit 1 with one line
`file:line: name: N lines` per function over the limit, 0 when there is none, 2 on a usage error.

--allow FILE names functions that may still be too long, one `path name` a line (`#` starts a
comment). An allowed function that is too long is reported as allowed and does not fail the check;
an entry that matches no function over the limit fails the check as stale, so the list can only
shrink.
"""
import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".cpp", ".cc", ".cxx", ".h", ".hpp")
DEFAULT_PATHS = ("sim", "workloads", "calibrate")
DEFAULT_LIMIT = 120


# ---- blanking comments, literals and preprocessor lines ---------------------------------------

_RAW_PREFIX = re.compile(r'(?:u8|u|U|L)?R"([^()\\\s"]{0,16})\(')


def strip_code(text):
    """Returns `text` with comments, string/char literals and preprocessor directives replaced by
    spaces; newlines are kept, so line numbers stay the same."""
    out = []
    i, n = 0, len(text)
    at_line_start = True  # only whitespace since the last newline (for preprocessor directives)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            out.append(c)
            i += 1
            continue
        if c == "#" and at_line_start:
            # A directive runs to the end of the line, continued by a trailing backslash; comments
            # inside it are blanked with it.
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 2
                    continue
                if text.startswith("/*", j):
                    end = text.find("*/", j + 2)
                    j = n if end < 0 else end + 2
                    continue
                if text.startswith("//", j):
                    while j < n and text[j] != "\n":
                        j += 1
                    break
                j += 1
            out.append(blank(text[i:j]))
            i = j
            continue
        at_line_start = False
        if text.startswith("//", i):
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 2  # a line comment continued by a backslash
                    continue
                j += 1
            out.append(blank(text[i:j]))
            i = j
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            j = n if end < 0 else end + 2
            out.append(blank(text[i:j]))
            i = j
            continue
        # Raw string: an identifier ending in R right before the quote; the prefix must start a token.
        if c in "uULR" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = _RAW_PREFIX.match(text, i)
            if m:
                close = ")" + m.group(1) + '"'
                end = text.find(close, m.end())
                j = n if end < 0 else end + len(close)
                out.append(blank(text[i:j]))
                i = j
                continue
        if c == '"' or (c == "'" and not _is_digit_separator(text, i)):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + blank(text[i + 1:j - 1]) + (c if j - 1 > i and text[j - 1] == c else " "))
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _is_digit_separator(text, i):
    """True when the quote at `i` is a C++14 digit separator (1'000'000, 0xFF'FF), not a char
    literal: the token before it starts with a digit."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_'."):
        j -= 1
    return j < i and text[j].isdigit()


# ---- finding function definitions -------------------------------------------------------------

_CLASS_HEAD = re.compile(r"^(?:\[\[.*?\]\]\s*)*(?:class|struct|union|enum)\b")
_NAMESPACE_HEAD = re.compile(r"^(?:inline\s+)?namespace\b|^extern\s*(?:\"\s*\"\s*)?$")
_ACCESS = re.compile(r"^(?:(?:public|private|protected)\s*:(?!:)\s*)+")
_NOT_A_NAME = {"decltype", "alignas", "alignof", "sizeof", "noexcept", "__attribute__",
               "__declspec", "requires", "static_assert"}


class Function:
    def __init__(self, path, name, start, end):
        self.path, self.name, self.start, self.end = path, name, start, end

    @property
    def length(self):
        return self.end - self.start + 1

    def __repr__(self):
        return f"{self.path}:{self.start}: {self.name}: {self.length} lines"


def _skip_template_header(head):
    """Drops leading `template <...>` clauses (their `=` defaults are not initializers)."""
    while True:
        m = re.match(r"template\s*<", head)
        if not m:
            return head
        depth, j = 1, m.end()
        while j < len(head) and depth:
            depth += {"<": 1, ">": -1}.get(head[j], 0)
            j += 1
        head = head[j:].lstrip()


def _top_level(head):
    """`head` with everything inside parentheses and square brackets removed (kept: the parens)."""
    out, depth = [], 0
    for c in head:
        if c in "([":
            if depth == 0:
                out.append(c)
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth == 0:
                out.append(c)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def _function_name(head):
    """The (qualified) name before the parameter list of a function head, or None."""
    flat = _top_level(head)
    m = re.search(r"\boperator\b\s*(\(\)|[^\s(]+)\s*\(", flat)
    if m:
        before = re.search(r"((?:[A-Za-z_]\w*\s*(?:<[^;{}()]*?>)?\s*::\s*)*)$", flat[:m.start()])
        return re.sub(r"\s+", "", (before.group(1) if before else "") + "operator" + m.group(1))
    for m in re.finditer(r"(~?\s*[A-Za-z_]\w*)\s*(?:<[^;{}()]*?>)?\s*\(", flat):
        if m.group(1).strip() in _NOT_A_NAME:
            continue
        qual = re.search(r"((?:[A-Za-z_]\w*\s*(?:<[^;{}()]*?>)?\s*::\s*)*)$", flat[:m.start()])
        return re.sub(r"\s+", "", (qual.group(1) if qual else "") + m.group(1))
    return None


def _classify(head):
    """'namespace', 'class', 'function' or 'initializer' for the head before a `{` met in a
    namespace or class scope."""
    head = _ACCESS.sub("", head.strip())
    body = _skip_template_header(head)
    if _NAMESPACE_HEAD.match(body):
        return "namespace"
    flat = _top_level(body)
    if _CLASS_HEAD.match(body) and not re.search(r"\)\s*(?:const\b|noexcept\b|override\b|->|$)", flat):
        return "class"
    no_operator = re.sub(r"\boperator\b\s*(\(\)|[^\s(]+)", "operator", flat)
    if "(" not in no_operator or "=" in no_operator:
        return "initializer"  # `T x{...}`, `T x = {...}`, `auto f = [](...) {...}`
    return "function" if _function_name(body) else "initializer"


def find_functions(text, path="<text>"):
    """Every function definition in C++ source `text`, as Function objects."""
    code = strip_code(text)
    line_of = []  # line number of each character
    line = 1
    for c in code:
        line_of.append(line)
        if c == "\n":
            line += 1
    functions = []
    scopes = []  # 'namespace' / 'class' (functions are consumed whole below)
    head_start = None  # index of the first character of the pending declaration's head
    paren = 0
    i, n = 0, len(code)

    def skip_braces(k):
        """Index just past the `}` that closes the `{` at k."""
        depth = 0
        while k < n:
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    return k + 1
            k += 1
        return n

    while i < n:
        c = code[i]
        if head_start is None and not c.isspace() and c not in ";{}":
            head_start = i
        if c in "([":
            paren += 1
        elif c in ")]":
            paren = max(0, paren - 1)
        elif c == ";" and paren == 0:
            head_start = None
        elif c == "}":
            if scopes:
                scopes.pop()
            head_start, paren = None, 0
        elif c == "{":
            head = code[head_start:i] if head_start is not None else ""
            if paren > 0:
                i = skip_braces(i)  # a braced expression inside parentheses
                continue
            kind = _classify(head)
            if kind == "function" and _in_constructor_initializers(head) and re.search(r"[\w>]\s*$", head):
                kind = "member-initializer"  # `Foo() : member_{x}`: not the body yet
            if kind in ("namespace", "class"):
                scopes.append(kind)
                head_start = None
                i += 1
                continue
            if kind in ("initializer", "member-initializer"):
                i = skip_braces(i)
                continue  # the head goes on (to `;`, or to the constructor's body)
            end = skip_braces(i)
            lead = len(head) - len(head.lstrip())  # the head starts at its first token,
            access = _ACCESS.match(head.lstrip())   # after any `public:` before it
            start_index = head_start + lead + (access.end() if access else 0)
            signature = _skip_template_header(_ACCESS.sub("", head.strip()))
            functions.append(Function(path, _function_name(signature),
                                      line_of[start_index], line_of[end - 1]))
            head_start, paren = None, 0
            i = end
            continue
        i += 1
    return functions


def _in_constructor_initializers(head):
    """True when `head` is a constructor signature followed by `:` (its member initializers)."""
    flat = _top_level(_skip_template_header(_ACCESS.sub("", head.strip())))
    return re.search(r"\)\s*(?:noexcept\s*(?:\(\))?\s*)?:(?!:)", flat) is not None


# ---- the command ------------------------------------------------------------------------------

def source_files(root, paths):
    for p in paths:
        full = os.path.join(root, p)
        if os.path.isfile(full):
            yield p
            continue
        for dirpath, dirnames, filenames in os.walk(full):
            dirnames[:] = sorted(d for d in dirnames if d != "kernels")
            for f in sorted(filenames):
                if f.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def read_allowlist(path):
    """Set of (file, name) pairs from an allowlist file."""
    allowed = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected `FILE FUNCTION`, got {raw.strip()!r}")
            allowed.append((os.path.normpath(parts[0]), parts[1]))
    return allowed


def _matches(function, entry):
    file, name = entry
    return os.path.normpath(function.path) == file and (
        function.name == name or function.name.split("::")[-1] == name)


def check(root, paths, limit, allowlist=()):
    """(lines to print, exit code) for the functions under `paths` longer than `limit`."""
    too_long = []
    for rel in source_files(root, paths):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            too_long += [fn for fn in find_functions(f.read(), rel) if fn.length > limit]
    lines, failed = [], False
    for fn in too_long:
        if any(_matches(fn, e) for e in allowlist):
            lines.append(f"{fn!r} (allowed)")
        else:
            lines.append(repr(fn))
            failed = True
    for entry in allowlist:
        if not any(_matches(fn, entry) for fn in too_long):
            lines.append(f"{entry[0]}: {entry[1]}: stale allowlist entry (not over {limit} lines): "
                         "remove it")
            failed = True
    return lines, 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    parser.add_argument("--allow", help="allowlist file (`FILE FUNCTION` a line)")
    args = parser.parse_args(argv)
    try:
        allowlist = read_allowlist(args.allow) if args.allow else []
    except (OSError, ValueError) as e:
        print(f"function_lengths.py: {e}", file=sys.stderr)
        return 2
    lines, code = check(os.path.normpath(args.root), args.paths, args.limit, allowlist)
    for line in lines:
        print(line)
    if code == 0:
        print(f"function_lengths.py: no function over {args.limit} lines"
              + (" outside the allowlist" if allowlist else ""))
    return code


if __name__ == "__main__":
    sys.exit(main())
