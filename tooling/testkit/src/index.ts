export {
  CHROMIUM,
  COTURN,
  ensureSystemTools,
  FFMPEG,
  ICECAST,
  IPROUTE,
  IPTABLES,
  NFT,
  type SystemTool,
} from './system-packages.js';
