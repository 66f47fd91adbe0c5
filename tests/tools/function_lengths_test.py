#!/usr/bin/env python3
"""Unit tests of function_lengths.py on synthetic C++: the checker must find what it claims to find,
so that it cannot pass a tree by missing its long functions."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import function_lengths as fl  # noqa: E402


def spans(code):
    """{name: (first line, length)} of the functions in `code`."""
    return {f.name: (f.start, f.length) for f in fl.find_functions(code)}


def filler(n):
    """n statement lines."""
    return "".join(f"  x += {i};\n" for i in range(n))


class FindFunctions(unittest.TestCase):
    def test_free_function_in_namespaces(self):
        code = ("namespace gwsim {\n"          # 1
                "namespace {\n"                # 2
                "int helper(int x) {\n"        # 3
                "  return x;\n"                # 4
                "}\n"                          # 5
                "}  // namespace\n"            # 6
                "void run() { helper(1); }\n"  # 7
                "}  // namespace gwsim\n")
        self.assertEqual(spans(code), {"helper": (3, 3), "run": (7, 1)})

    def test_multi_line_signature_counts_from_its_first_line(self):
        code = ("static std::vector<int>\n"          # 1
                "plan(const Config& config,\n"       # 2
                "     int x = 3,\n"                  # 3
                "     std::pair<int, int> p = {1, 2})\n"  # 4
                "{\n"                                # 5
                "  return {};\n"                     # 6
                "}\n")                               # 7
        self.assertEqual(spans(code), {"plan": (1, 7)})

    def test_template_line_is_part_of_the_signature(self):
        code = "template <typename T = int>\nT twice(T x) {\n  return 2 * x;\n}\n"
        self.assertEqual(spans(code), {"twice": (1, 4)})

    def test_braces_in_literals_and_comments_do_not_count(self):
        code = ('void f() {\n'                                  # 1
                '  auto a = R"json({"k": {"n": 1}})json";\n'   # 2
                '  auto b = R"(}}})";\n'                         # 3
                '  auto c = u8R"x(})x";\n'                      # 4
                '  const char* d = "}\\"}";\n'                  # 5
                "  char e = '}'; char g = '\\'';\n"             # 6
                '  int h = 1\'000\'000;  // } in a comment\n'  # 7
                '  /* { */ if (0x1\'0) {\n'                   # 8
                '  }\n'                                        # 9
                '}\n'                                          # 10
                'void after() {}\n')                            # 11
        self.assertEqual(spans(code), {"f": (1, 10), "after": (11, 1)})

    def test_lambdas_belong_to_their_function(self):
        code = ("int f() {\n"
                "  auto add = [](int a, int b) {\n"
                "    return a + b;\n"
                "  };\n"
                "  return add(1, 2);\n"
                "}\n")
        self.assertEqual(spans(code), {"f": (1, 6)})

    def test_classes_members_and_constructors(self):
        code = ("struct Point {\n"                         # 1
                "  int x{0};\n"                            # 2
                "  std::vector<int> v = {1, 2};\n"         # 3
                " public:\n"                               # 4
                "  Point(int a) : x{a}, v{a, a} {\n"       # 5
                "    x += 1;\n"                            # 6
                "  }\n"                                    # 7
                "  bool operator==(const Point& o) const {\n"  # 8
                "    return x == o.x;\n"                   # 9
                "  }\n"                                    # 10
                "  enum class Kind { kA, kB };\n"          # 11
                "};\n"                                     # 12
                "Point::~Point() { }\n"                    # 13
                "int Point::size() const noexcept\n"       # 14
                "{ return 1; }\n"                          # 15
                "const int kTable[] = {1, 2, 3};\n"        # 16
                'extern "C" {\n'                           # 17
                "int c_entry(void) { return 0; }\n"        # 18
                "}\n")
        self.assertEqual(spans(code), {"Point": (5, 3), "operator==": (8, 3),
                                       "Point::~Point": (13, 1), "Point::size": (14, 2),
                                       "c_entry": (18, 1)})

    def test_preprocessor_lines_are_ignored(self):
        code = ("#define OPEN {\n"
                "#define MULTI(x) \\\n"
                "  do { x; } while (0)\n"
                "void f() {\n"
                "}\n")
        self.assertEqual(spans(code), {"f": (4, 2)})


class Check(unittest.TestCase):
    """The command over a small tree: the limit, the output format, the allowlist."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        os.makedirs(os.path.join(self.root, "sim", "src"))
        os.makedirs(os.path.join(self.root, "sim", "kernels"))
        long_body = "void too_long(\n    int x)\n{\n" + filler(120) + "}\n"  # 124 lines
        self.write("sim/src/a.cpp", "namespace n {\n" + long_body + "int ok() { return 1; }\n}\n")
        self.write("sim/src/b.cpp", "int just_fits() {\n" + filler(118) + "}\n")  # 120 lines
        self.write("sim/kernels/k.cpp", "void kernel_long() {\n" + filler(200) + "}\n")
        self.write("sim/src/c.cu", "void cuda_long() {\n" + filler(200) + "}\n")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, rel, text):
        with open(os.path.join(self.root, rel), "w", encoding="utf-8") as f:
            f.write(text)

    def test_reports_only_functions_over_the_limit_outside_kernels(self):
        lines, code = fl.check(self.root, ["sim"], 120)
        self.assertEqual(code, 1)
        self.assertEqual(lines, [os.path.join("sim", "src", "a.cpp") + ":2: too_long: 124 lines"])

    def test_passes_when_under_the_limit(self):
        self.assertEqual(fl.check(self.root, ["sim"], 124), ([], 0))

    def test_allowlisted_function_passes_and_stale_entry_fails(self):
        allowed = [(os.path.join("sim", "src", "a.cpp"), "too_long")]
        lines, code = fl.check(self.root, ["sim"], 120, allowed)
        self.assertEqual(code, 0)
        self.assertTrue(lines[0].endswith("(allowed)"))
        stale = allowed + [(os.path.join("sim", "src", "b.cpp"), "just_fits")]
        lines, code = fl.check(self.root, ["sim"], 120, stale)
        self.assertEqual(code, 1)
        self.assertIn("stale", lines[-1])

    def test_allowlist_file_format(self):
        self.write("allow.txt", "# comment\nsim/src/a.cpp too_long  # why\n\n")
        self.assertEqual(fl.read_allowlist(os.path.join(self.root, "allow.txt")),
                         [(os.path.join("sim", "src", "a.cpp"), "too_long")])
        self.write("bad.txt", "sim/src/a.cpp\n")
        with self.assertRaises(ValueError):
            fl.read_allowlist(os.path.join(self.root, "bad.txt"))

    def test_main_exit_codes(self):
        with open(os.devnull, "w") as null:
            stdout, sys.stdout = sys.stdout, null
            try:
                self.assertEqual(fl.main(["--root", self.root, "sim"]), 1)
                self.assertEqual(fl.main(["--root", self.root, "--limit", "200", "sim"]), 0)
            finally:
                sys.stdout = stdout


if __name__ == "__main__":
    unittest.main()
