#!/usr/bin/env -S node --max-semi-space-size=1
// Entry for the `ocpp-router` binary: the compiled CLI (built by `npm run build`). The main thread keeps a
// small young generation (see docs/architecture.md, "Memory"); npm start and the Dockerfile pass the same flag.
import '../dist/src/main.js';
