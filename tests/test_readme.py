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
