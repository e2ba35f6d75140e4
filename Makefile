# Shortcuts for the scripts in scripts/ (each installs what it needs).
.PHONY: run test bench bench-import build clean

run:
	scripts/run

test:
	scripts/test

bench:
	scripts/bench-import
	scripts/bench

bench-import:
	scripts/bench-import

build:
	swift build

clean:
	rm -rf .build .build-*
