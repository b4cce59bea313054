"""What the bench scripts share: writing their section of bench/RESULTS.md, and a farm."""
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


def farm(sockscope, sockets):
    """In the private namespace the script runs in: lo up, and `sockscope lab farm` holding
    `sockets` sockets (18,000 per worker at most: the fd limit is 20,000). Returns the farm's
    process (terminate it when done), its worker count and the TCP sockets ss counts."""
    import subprocess
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    procs = max(8, (sockets + 17999) // 18000)
    p = subprocess.Popen([sockscope, "lab", "farm", "--sockets", str(sockets), "--processes", str(procs), "--json"],
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    tcp = int(subprocess.run(["sh", "-c", "ss -tanH | wc -l"], capture_output=True, text=True).stdout)
    return p, procs, tcp
