export { type HeadlessChromium, launchChromium } from './chromium.js';
export { COTURN_READY_LINE, type CoturnStunOptions, coturnStunArguments } from './coturn.js';
export {
  freePort,
  type IcecastServer,
  type IcecastServerOptions,
  startIcecastServer,
} from './icecast-server.js';
export { boundedLiveFeed, loopbackFeedSource } from './live-feed.js';
export {
  CHROMIUM,
  COTURN,
  ensureSystemTools,
  FFMPEG,
  ICECAST,
  IPROUTE,
  IPTABLES,
  LIQUIDSOAP,
  NFT,
  PROMTOOL,
  type SystemTool,
} from './system-packages.js';
