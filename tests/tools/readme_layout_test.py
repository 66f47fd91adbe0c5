#!/usr/bin/env python3
"""The README's layout table tells the truth about the tree (issue 13).

Every folder the table names exists, and every folder a newcomer meets is named: each top-level
folder git tracks (hidden ones aside), each folder directly under sim/ and sim/engines/.
  readme_layout_test.py [--root DIR]     exit 0 when they agree, 1 listing the differences
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path


def layout_folders(readme: str) -> set:
    """Folders in the first column of the table under '## Layout'."""
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    folders = set()
    for line in section.splitlines():
        m = re.match(r"\|\s*`([^`]+/)`\s*\|", line)
        if m:
            folders.add(m.group(1).rstrip("/"))
    return folders


def tracked_folders(root: Path) -> set:
    """Folders holding tracked files: top level, and directly under sim/ and sim/engines/."""
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    folders = set()
    for f in files:
        parts = f.split("/")
        if len(parts) > 1 and not parts[0].startswith("."):
            folders.add(parts[0])
        if parts[0] == "sim" and len(parts) > 2:
            folders.add("sim/" + parts[1])
        if parts[:2] == ["sim", "engines"] and len(parts) > 3:
            folders.add("sim/engines/" + parts[2])
    return folders


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    root = Path(ap.parse_args().root)
    named = layout_folders((root / "README.md").read_text(encoding="utf-8"))
    problems = [f"README names {f}/, which is not a folder" for f in sorted(named) if not (root / f).is_dir()]
    # sim/ and sim/engines/ themselves are described by their subfolders' rows.
    for f in sorted(tracked_folders(root) - named - {"sim", "sim/engines"}):
        problems.append(f"{f}/ is in the tree but not in the README's layout table")
    for p in problems:
        print(p)
    if not problems:
        print(f"README layout: {len(named)} folders, all present, none missing")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
