# Shortcuts for the scripts in scripts/ (each installs what it needs).
.PHONY: run test bench bench-import build clean

run:
	scripts/run

test:
	scripts/test

# Both run whatever the first one finds, so that one run prints every figure; it fails if either missed a floor.
bench:
	@import=0; scripts/bench-import || import=$$?; scripts/bench || exit $$?; exit $$import

bench-import:
	scripts/bench-import

build:
	swift build

clean:
	rm -rf .build .build-*
