"""Draws one uploaded SVG into a PNG: a script that ``uploads`` runs as a child process.

An SVG is a program as much as a picture: a filter (a morphology of a large radius, a
turbulence of many octaves, a filter region a thousand times the canvas) or an embedded
raster picture that declares billions of pixels keeps resvg busy for minutes or makes it
allocate gigabytes, and no check of the markup catches every such file. So the drawing runs
here, in a process of its own whose CPU time and memory the kernel bounds: a file past
either limit ends this process, not the web server's.

    python -I svg_drawing.py WIDTH HEIGHT CPU_SECONDS MEMORY_BYTES < picture.svg > picture.png

Exit status 0 with the PNG on stdout, ``DAMAGED`` when resvg cannot read the SVG; killed by
a signal, or any other status, when a limit was reached.
"""

import resource
import sys

DAMAGED = 3


def main() -> int:
    width, height, cpu_seconds, memory_bytes = (int(arg) for arg in sys.argv[1:5])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    # The heap and every private mapping: what a decoded picture or a filter's canvas takes.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    import resvg_py

    svg = sys.stdin.buffer.read().decode("utf-8")
    try:
        # Both sides given: resvg fits the drawing into that box, keeping its proportions,
        # however large the SVG says it is.
        png = resvg_py.svg_to_bytes(
            svg_string=svg, width=width, height=height, skip_system_fonts=False
        )
    except (ValueError, OSError):
        return DAMAGED
    sys.stdout.buffer.write(bytes(png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
