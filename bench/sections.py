"""One home for writing a bench script's section of bench/RESULTS.md."""
import os


def replace(results_md, tag, section):
    """Puts `section` (which starts with `<!-- TAG: … -->` and ends with `<!-- /TAG -->`) in
    place of the file's section of that tag, or at the end when it has none."""
    text = open(results_md).read() if os.path.exists(results_md) else ""
    start, end = f"<!-- {tag}: ", f"<!-- /{tag} -->\n"
    if start in text:
        a = text.index(start)
        text = text[:a] + section + text[text.index(end, a) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(results_md, "w").write(text)
