/**
 * Preloaded (node --require) into a server started with --cpu-prof. Node
 * writes the profile only when the process exits normally, but the gateway's
 * shutdown hook ends by re-raising SIGTERM, which kills it before the profile
 * is written. Registered first, this listener exits cleanly instead.
 */
process.once('SIGTERM', () => process.exit(0));
