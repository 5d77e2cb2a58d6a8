#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, the version Rasa 3.6 needs.
# Looks on PATH, then in pyenv's versions; explains how to get one if none is found.
set -u
candidates=(python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python3 /usr/local/bin/python3.10 /usr/bin/python3.10)
for candidate in "${candidates[@]}"; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 was not found. Rasa 3.6 runs only on Python 3.8 to 3.10, so the
assistant needs 3.10. Install it, then run the same command again:
  with pyenv:        pyenv install 3.10
  on Debian/Ubuntu:  sudo apt install python3.10 python3.10-venv
  on macOS:          brew install python@3.10
MSG
exit 1
