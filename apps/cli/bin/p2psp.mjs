#!/usr/bin/env node
// The installed `p2psp` command. The program is the esbuild bundle in dist/; this file
// exists before any build, so package managers can link the bin at install time.
import '../dist/p2psp.mjs';
