import os
import sys

# Make the shared simulation helpers (simutil.py, next to this file) importable by the tests.
sys.path.insert(0, os.path.dirname(__file__))
