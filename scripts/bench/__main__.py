"""``python -m scripts.bench``: run the benchmark harness."""

from scripts.bench.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
