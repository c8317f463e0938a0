using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>One RFC 5424 message as a receiver parses it.</summary>
public sealed record SyslogFrame(int Priority, int Version, DateTimeOffset Timestamp, string HostName, string AppName, string ProcId, string MessageId,
    string StructuredData, string Message, string Raw);

/// <summary>
/// A real syslog receiver on loopback: UDP (one message per datagram) or TCP (octet-counted frames,
/// RFC 6587 3.4.1, over any number of connections). Every frame is parsed strictly as RFC 5424; a
/// frame that does not parse is kept in <see cref="Malformed"/> so a test can fail on it.
/// </summary>
public sealed partial class SyslogListener : IAsyncDisposable
{
    private readonly ConcurrentQueue<SyslogFrame> _frames = new();
    private readonly ConcurrentQueue<string> _malformed = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly UdpClient? _udp;
    private readonly TcpListener? _tcp;
    private readonly Task _loop;

    private SyslogListener(bool tcp, int port)
    {
        if (tcp)
        {
            _tcp = new TcpListener(IPAddress.Loopback, port);
            _tcp.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _tcp.Start();
            Port = ((IPEndPoint)_tcp.LocalEndpoint).Port;
            _loop = AcceptLoopAsync();
        }
        else
        {
            _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
            Port = ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
            _loop = UdpLoopAsync();
        }
    }

    public int Port { get; }

    public string Url => $"{(_tcp is null ? "udp" : "tcp")}://127.0.0.1:{Port}";

    public IReadOnlyList<SyslogFrame> Frames => _frames.ToArray();

    public IReadOnlyList<string> Malformed => _malformed.ToArray();

    public static SyslogListener Udp(int port = 0) => new(tcp: false, port);

    public static SyslogListener Tcp(int port = 0) => new(tcp: true, port);

    /// <summary>Waits until a frame matches; fails the test after <paramref name="seconds"/>.</summary>
    public async Task<SyslogFrame> WaitForAsync(Func<SyslogFrame, bool> match, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (_frames.FirstOrDefault(match) is { } frame) return frame;
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting for syslog {what}; got {_frames.Count} frame(s): {string.Join(" | ", _frames.Select(f => f.Message))}");
            await Task.Delay(20);
        }
    }

    private async Task UdpLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var datagram = await _udp!.ReceiveAsync(_stop.Token);
                Add(Encoding.UTF8.GetString(datagram.Buffer));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _tcp!.AcceptTcpClientAsync(_stop.Token);
                _ = ReadFramesAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    /// <summary>Octet counting: <c>MSG-LEN SP SYSLOG-MSG</c>, repeated until the sender closes.</summary>
    private async Task ReadFramesAsync(TcpClient client)
    {
        using var _ = client;
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            await using var stream = client.GetStream();
            int read;
            while ((read = await stream.ReadAsync(chunk, _stop.Token)) > 0)
            {
                buffer.AddRange(chunk.AsSpan(0, read));
                while (true)
                {
                    var space = buffer.IndexOf((byte)' ');
                    if (space < 0) break;
                    var lengthText = Encoding.ASCII.GetString(buffer.GetRange(0, space).ToArray());
                    if (!int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || lengthText.StartsWith('0'))
                    {
                        _malformed.Enqueue("bad octet count: " + Encoding.ASCII.GetString(buffer.ToArray()));
                        return;
                    }
                    if (buffer.Count < space + 1 + length) break;
                    Add(Encoding.UTF8.GetString(buffer.GetRange(space + 1, length).ToArray()));
                    buffer.RemoveRange(0, space + 1 + length);
                }
            }
            if (buffer.Count > 0) _malformed.Enqueue("trailing bytes without a complete frame: " + Encoding.UTF8.GetString(buffer.ToArray()));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    private void Add(string raw)
    {
        var m = Rfc5424().Match(raw);
        if (!m.Success || !DateTimeOffset.TryParse(m.Groups["ts"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
        {
            _malformed.Enqueue(raw);
            return;
        }
        _frames.Enqueue(new SyslogFrame(int.Parse(m.Groups["pri"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["ver"].Value, CultureInfo.InvariantCulture), ts,
            m.Groups["host"].Value, m.Groups["app"].Value, m.Groups["proc"].Value, m.Groups["msgid"].Value, m.Groups["sd"].Value, m.Groups["msg"].Value, raw));
    }

    // RFC 5424 6: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
    [GeneratedRegex(@"^<(?<pri>[0-9]{1,3})>(?<ver>[1-9][0-9]{0,2}) (?<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})) (?<host>[!-~]{1,255}) (?<app>[!-~]{1,48}) (?<proc>[!-~]{1,128}) (?<msgid>[!-~]{1,32}) (?<sd>-|(\[[^\]]*\])+)( (?<msg>.*))?$", RegexOptions.Singleline)]
    private static partial Regex Rfc5424();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp?.Dispose();
        _tcp?.Stop();
        try { await _loop; } catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { }
        _stop.Dispose();
    }
}
