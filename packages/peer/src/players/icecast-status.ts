import type { StreamInfo } from '@p2psp/wire';

/** One mount as `/status-json.xsl` lists it. */
export interface IcecastMount {
  /** Where players open it, e.g. http://127.0.0.1:8080/stream. */
  readonly listenUrl: string;
  /** The media type (`server_type`), null while unknown. */
  readonly mediaType: string | null;
  readonly title: string;
  readonly info: StreamInfo;
  readonly listeners: number;
  readonly listenerPeak: number;
  /** When the stream started here, null while it has not. */
  readonly streamStart: Date | null;
}

/** Icecast's date form in its stats (src/stats.c, `%Y-%m-%dT%H:%M:%S%z`), in UTC. */
function iso8601(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+0000`;
}

/**
 * The body of Icecast 2.4's `/status-json.xsl` (its web/status-json.xsl over the stats
 * XML): `icestats` with the server's fields and `source`, one object for one mount (an
 * array for several, as Icecast does). Fields Icecast leaves out while unset (title, genre,
 * server_name...) are left out too, so widgets and directory scripts read it unchanged.
 */
export function icecastStatusJson(options: {
  readonly host: string;
  readonly serverStart: Date;
  readonly mounts: readonly IcecastMount[];
}): { readonly icestats: Record<string, unknown> } {
  const sources = options.mounts.map((mount) => {
    const { info } = mount;
    const source: Record<string, unknown> = {};
    if (info.genre !== '') source.genre = info.genre;
    if (info.bitrate > 0) source.bitrate = info.bitrate;
    source.listener_peak = mount.listenerPeak;
    source.listeners = mount.listeners;
    source.listenurl = mount.listenUrl;
    if (info.description !== '') source.server_description = info.description;
    if (info.name !== '') source.server_name = info.name;
    if (mount.mediaType !== null) source.server_type = mount.mediaType;
    if (info.url !== '') source.server_url = info.url;
    if (mount.streamStart !== null) source.stream_start_iso8601 = iso8601(mount.streamStart);
    if (mount.title !== '') source.title = mount.title;
    return source;
  });
  return {
    icestats: {
      host: options.host,
      location: 'p2psp cluster',
      server_id: 'p2psp',
      server_start_iso8601: iso8601(options.serverStart),
      ...(sources.length === 0 ? {} : { source: sources.length === 1 ? sources[0] : sources }),
    },
  };
}
