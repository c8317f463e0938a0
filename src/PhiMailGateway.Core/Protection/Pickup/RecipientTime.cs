using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Times as the recipient reads them, on the pickup pages and in the notices: in the practice's
/// zone (<c>Pickup:TimeZone</c>, the server's zone by default) with the abbreviation people know
/// ("EST", "CET"), because a patient told "until 17:00 UTC" has to do arithmetic to know when.
/// .NET has no zone abbreviations, so they are read from the system's tz database file of the zone
/// (the TZif format of RFC 8536); without one the offset is shown instead ("UTC-05:00").
/// </summary>
public sealed class RecipientTime
{
    private static readonly ConcurrentDictionary<string, ZoneNames?> Names = new(StringComparer.Ordinal);

    public RecipientTime(TimeZoneInfo zone) => Zone = zone;

    public TimeZoneInfo Zone { get; }

    /// <summary>The zone of <c>Pickup:TimeZone</c>, or the server's own when unset; null when the id is unknown.</summary>
    public static TimeZoneInfo? FindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return TimeZoneInfo.Local;
        return TimeZoneInfo.TryFindSystemTimeZoneById(id.Trim(), out var zone) ? zone : null;
    }

    /// <summary>"17 December 2026, 09:30 EST".</summary>
    public string DateAndTime(DateTimeOffset instant) =>
        TimeZoneInfo.ConvertTime(instant, Zone).ToString("d MMMM yyyy, HH:mm", CultureInfo.InvariantCulture) + " " + Abbreviation(instant);

    /// <summary>"09:30 EST".</summary>
    public string TimeOfDay(DateTimeOffset instant) =>
        TimeZoneInfo.ConvertTime(instant, Zone).ToString("HH:mm", CultureInfo.InvariantCulture) + " " + Abbreviation(instant);

    public string Abbreviation(DateTimeOffset instant)
    {
        var offset = Zone.GetUtcOffset(instant);
        if (Zone.Id is "UTC" or "Etc/UTC" or "Etc/UCT" or "UCT" or "Etc/Universal" or "Universal" or "Zulu" or "Etc/Zulu")
            return "UTC";
        var names = Names.GetOrAdd(Zone.Id, ZoneNames.Load);
        var name = names?.Find(instant.ToUnixTimeSeconds(), (int)offset.TotalSeconds, Zone.IsDaylightSavingTime(instant));
        // Zones without a common abbreviation carry a numeric one ("+03"): the offset reads better.
        return name is { Length: > 0 } && char.IsLetter(name[0]) ? name : Offset(offset);
    }

    private static string Offset(TimeSpan offset) =>
        offset == TimeSpan.Zero ? "UTC" : "UTC" + (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);

    /// <summary>The local-time types and transitions of one TZif file, and the abbreviations of its POSIX footer.</summary>
    private sealed class ZoneNames
    {
        private readonly long[] _transitions;
        private readonly byte[] _typeOfTransition;
        private readonly (int UtcOffset, bool IsDst, string Name)[] _types;
        private readonly (string Standard, string? Daylight)? _footer;

        private ZoneNames(long[] transitions, byte[] typeOfTransition, (int, bool, string)[] types, (string, string?)? footer)
        {
            _transitions = transitions;
            _typeOfTransition = typeOfTransition;
            _types = types;
            _footer = footer;
        }

        public string? Find(long unixSeconds, int utcOffset, bool isDst)
        {
            // After the last transition the footer's rule is what the zone follows now.
            if (_footer is { } footer && (_transitions.Length == 0 || unixSeconds >= _transitions[^1]))
                return isDst ? footer.Daylight : footer.Standard;
            for (var i = _transitions.Length - 1; i >= 0; i--)
            {
                if (_transitions[i] > unixSeconds) continue;
                var type = _types[_typeOfTransition[i] % _types.Length];
                if (type.UtcOffset == utcOffset && type.IsDst == isDst) return type.Name;
            }
            return _types.FirstOrDefault(t => t.UtcOffset == utcOffset && t.IsDst == isDst).Name;
        }

        public static ZoneNames? Load(string zoneId)
        {
            try
            {
                var root = Environment.GetEnvironmentVariable("TZDIR") is { Length: > 0 } dir ? dir : "/usr/share/zoneinfo";
                var path = Path.GetFullPath(Path.Combine(root, zoneId));
                if (!path.StartsWith(Path.GetFullPath(root), StringComparison.Ordinal) || !File.Exists(path)) return null;
                var data = File.ReadAllBytes(path);
                return Parse(data);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or IndexOutOfRangeException or ArgumentOutOfRangeException or NotSupportedException or OverflowException)
            {
                return null;
            }
        }

        private static ZoneNames? Parse(ReadOnlySpan<byte> data)
        {
            if (data.Length < 44 || !data.StartsWith("TZif"u8)) return null;
            var version = data[4];
            var (v1, v1Length) = Block(data, 0, 4);
            if (version < (byte)'2') return v1;
            var second = 44 + v1Length;
            var (v2, v2Length) = Block(data, second, 8);
            var footerStart = second + 44 + v2Length;
            return v2 is null ? v1 : new ZoneNames(v2._transitions, v2._typeOfTransition, v2._types, Footer(data[footerStart..]));
        }

        private static (ZoneNames? Names, int Length) Block(ReadOnlySpan<byte> data, int start, int timeSize)
        {
            var header = data.Slice(start, 44);
            if (!header.StartsWith("TZif"u8)) return (null, 0);
            int isUtCount = Count(header, 0), isStdCount = Count(header, 1), leapCount = Count(header, 2),
                timeCount = Count(header, 3), typeCount = Count(header, 4), charCount = Count(header, 5);
            var p = data[(start + 44)..];
            var transitions = new long[timeCount];
            for (var i = 0; i < timeCount; i++)
                transitions[i] = timeSize == 8 ? BinaryPrimitives.ReadInt64BigEndian(p[(i * 8)..]) : BinaryPrimitives.ReadInt32BigEndian(p[(i * 4)..]);
            var at = timeCount * timeSize;
            var typeOfTransition = p.Slice(at, timeCount).ToArray();
            at += timeCount;
            var infos = p.Slice(at, typeCount * 6);
            at += typeCount * 6;
            var chars = p.Slice(at, charCount);
            var types = new (int, bool, string)[typeCount];
            for (var i = 0; i < typeCount; i++)
            {
                var info = infos[(i * 6)..];
                var index = info[5];
                var rest = index < chars.Length ? chars[index..] : [];
                var end = rest.IndexOf((byte)0);
                types[i] = (BinaryPrimitives.ReadInt32BigEndian(info), info[4] != 0, Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]));
            }
            var length = at + charCount + leapCount * (timeSize + 4) + isStdCount + isUtCount;
            return (typeCount == 0 ? null : new ZoneNames(transitions, typeOfTransition, types, null), length);
        }

        private static int Count(ReadOnlySpan<byte> header, int i) => checked((int)BinaryPrimitives.ReadUInt32BigEndian(header[(20 + 4 * i)..]));

        /// <summary>The abbreviations of the footer's POSIX TZ string, e.g. "EST5EDT,M3.2.0,M11.1.0" or "&lt;+03&gt;-3".</summary>
        private static (string, string?)? Footer(ReadOnlySpan<byte> footer)
        {
            if (footer.Length < 2 || footer[0] != (byte)'\n') return null;
            var end = footer[1..].IndexOf((byte)'\n');
            if (end <= 0) return null;
            var tz = Encoding.ASCII.GetString(footer.Slice(1, end));
            var i = 0;
            var standard = Name(tz, ref i);
            if (standard is null) return null;
            while (i < tz.Length && (char.IsDigit(tz[i]) || tz[i] is '+' or '-' or ':')) i++;
            var daylight = i < tz.Length && tz[i] != ',' ? Name(tz, ref i) : null;
            return (standard, daylight);
        }

        private static string? Name(string tz, ref int i)
        {
            if (i >= tz.Length) return null;
            if (tz[i] == '<')
            {
                var close = tz.IndexOf('>', i);
                if (close < 0) return null;
                var quoted = tz[(i + 1)..close];
                i = close + 1;
                return quoted;
            }
            var start = i;
            while (i < tz.Length && char.IsAsciiLetter(tz[i])) i++;
            return i > start ? tz[start..i] : null;
        }
    }
}
