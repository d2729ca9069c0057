"""The README's example is what a new user copies first: it must run as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(tmp_path)  # the example saves a model file
    namespaces = []
    for code in blocks:  # each section's snippet stands alone, as a user would paste it
        namespaces.append({})
        exec(compile(code, "README.md", "exec"), namespaces[-1])
    first = namespaces[0]  # "A short example"
    assert first["model"].evaluate(first["X_test"], first["y_test"])["accuracy"] > 0.9
    assert first["grad"].shape == (4, 3)


def test_readme_command_line_block_runs_from_the_checkout(tmp_path):
    """The "Command line" section's commands, run as a user in the checkout would (its data
    file ships in examples/), each one exiting 0."""
    import os
    import shlex
    import shutil
    import subprocess
    import sys
    text = README.read_text()
    block = re.search(r"## Command line\n\n```bash\n(.*?)```", text, flags=re.S).group(1)
    root = README.parent
    shutil.copytree(root / "examples", tmp_path / "examples")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    for line in block.strip().splitlines():
        command = line.split("#")[0].strip()
        assert command.startswith("python -m fastlin "), command
        args = shlex.split(command.split("|")[0])[1:]
        r = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=env)
        assert r.returncode == 0, (command, r.stderr)
    assert (tmp_path / "p.csv").read_text().splitlines()[0].count(",") == 2  # three classes
