#!/usr/bin/env bash
# Builds .venv-optuna: the project's .venv plus Optuna, for the optuna-* peers. scripts/setup.sh
# keeps .venv exactly at the lock (it removes packages the lock does not list), so the peer lives
# beside it: this venv sees .venv's packages and tailor through a .pth file and adds only Optuna
# and the three small packages it needs that tailor does not (pinned here).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || { echo "install_optuna.sh: run 'bash scripts/setup.sh' first" >&2; exit 1; }
VENV="${OPTUNA_VENV:-.venv-optuna}"
[ -x "$VENV/bin/python" ] || .venv/bin/python -m venv "$VENV"
main_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
side_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "import site; site.addsitedir('$main_site')" > "$side_site/tailor_main_venv.pth"
"$VENV/bin/pip" install --disable-pip-version-check -q --no-deps \
  optuna==5.1.0 alembic==1.17.2 colorlog==6.10.1 Mako==1.3.10
"$VENV/bin/python" -c "import optuna, tailor; print('optuna', optuna.__version__)"
