// cmark-gfm's parser and renderers, and the GitHub extensions (autolink, table, strikethrough, tagfilter).
#ifndef CIRCULATE_CCMARKGFM_SHIM_H
#define CIRCULATE_CCMARKGFM_SHIM_H

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>

#endif
