/** The emulator's WebSocket client now lives in ./transport/; this path stays for the benchmarks that import it. */
export * from './transport/index.js';
