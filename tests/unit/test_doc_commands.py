"""How the docs test reads commands, promised output and files out of Markdown (tests/support/doc_commands.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.doc_commands import DocCommand, DocFile, commands_in, output_mismatch, substitute

DOC = """\
Text with `layerscope analyze X` inline is not a command.

```sh
layerscope analyze shop/web:2.4 --estimate   # ~1 s
layerscope analyze REF... [--platform OS/ARCH]
layerscope catalog list|show NAME|refresh
layerscope catalog show b111c332 | head -1
```

```yaml
# node.yaml: saved before the commands below
extends: eks-ws2019-core
```

```
$ layerscope catalog show foo
layerscope: error: nothing named 'foo'
$ echo $?
4

$ layerscope profile list
name  orchestrator
…
eks-ws2019-core  eks
```
"""


def test_commands_outputs_exit_codes_and_files(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text(DOC, encoding="utf-8")
    items = list(commands_in(tmp_path / "doc.md", tmp_path))
    commands = [c for c in items if isinstance(c, DocCommand)]
    assert [c.text for c in commands] == [
        "layerscope analyze shop/web:2.4 --estimate",
        "layerscope catalog show b111c332 | head -1",
        "layerscope catalog show foo",
        "layerscope profile list",
    ]
    assert commands[0].where == "doc.md:4" and commands[0].output == ()
    assert commands[2].exit_code == 4 and commands[2].shows_error
    assert commands[3].output == ("name  orchestrator", "…", "eks-ws2019-core  eks")
    files = [f for f in items if isinstance(f, DocFile)]
    assert [(f.name, f.content.splitlines()[1]) for f in files] == [("node.yaml", "extends: eks-ws2019-core")]
    assert items.index(files[0]) == 2  # in document order, before the commands after it


def test_output_lines_in_order_with_ellipsis() -> None:
    actual = "a first line\nnoise\nthe 627 MB line\nlast"
    assert output_mismatch(("a first line", "…", "the … line"), actual) is None
    assert output_mismatch(("the 627 MB line", "a first line"), actual) == "a first line"
    assert output_mismatch(("the 628 MB line",), actual) == "the 628 MB line"


def test_substitutions() -> None:
    reg = "127.0.0.1:5555"
    assert substitute("layerscope diff shop/web:2.3 shop/web:2.4", reg) == (
        f"layerscope diff {reg}/shop/web:2.3 {reg}/shop/web:2.4"
    )
    assert substitute("layerscope analyze 123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:2.4", reg) == (
        f"layerscope analyze {reg}/shop/web:2.4"
    )
    assert substitute("layerscope analyze IMAGE --nodes nodes.json", reg) == (
        "layerscope analyze oci:fixtures/layout:windows-app --nodes fixtures/nodes.json"
    )
    assert substitute("layerscope analyze oci:fixtures/layout:windows-app", reg) == (
        "layerscope analyze oci:fixtures/layout:windows-app"
    )
