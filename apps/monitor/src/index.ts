export {
  DEFAULT_SOURCE_STATUS_PORT,
  type MonitorHandle,
  type MonitorLogEntry,
  type MonitorOptions,
  type MonitorSnapshot,
  startMonitor,
} from './start-monitor.js';
