"""The start every Python test of vit/train shares: without the modules it needs (Debian's
python3-torch, python3-numpy) the test is skipped (exit 77, ctest's SKIP_RETURN_CODE), else
vit/train goes on the import path. Returns the source root."""
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def require(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        print(f"{' and '.join(missing)} not installed for this python: skipped")
        sys.exit(77)
    sys.path.insert(0, os.path.join(ROOT, "vit", "train"))
    return ROOT
