# Shortcuts for the scripts in scripts/ (each installs what it needs).
.PHONY: run test bench-import build clean

run:
	scripts/run

test:
	scripts/test

bench-import:
	scripts/bench-import

build:
	swift build

clean:
	rm -rf .build .build-*
