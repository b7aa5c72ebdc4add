#!/usr/bin/env node
// The `fakeface` command: runs the compiled CLI (npm install builds dist/ in its `prepare` step).
import '../dist/cli/run.js';
