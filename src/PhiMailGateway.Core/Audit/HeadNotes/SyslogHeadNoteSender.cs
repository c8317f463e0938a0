using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Audit.HeadNotes;

/// <summary>
/// Sends a head note as one RFC 5424 message: over UDP one datagram, over TCP one octet-counted
/// frame (RFC 6587 3.4.1, <c>LEN SP MSG</c>) on a fresh connection. A note goes at most once a
/// minute by default, so a connection per note costs nothing and survives a receiver restart.
/// Never throws: a receiver that is down must not stop mail or the audit commit; the caller keeps
/// the note pending and tries again on its next round, and the outage is logged once.
/// </summary>
public sealed partial class SyslogHeadNoteSender(SyslogTarget target, TimeProvider time, ILogger<SyslogHeadNoteSender> logger)
{
    /// <summary>LOG_AUDIT (13) at Notice (5).</summary>
    public const int Priority = 13 * 8 + 5;

    public const string AppName = "PhiMailGateway";
    public const string MessageId = "audit-head";

    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private bool _down;

    public SyslogTarget Target => target;

    /// <returns>True once the note was handed to the network (for TCP: written and the connection closed cleanly).</returns>
    public async Task<bool> SendAsync(AuditHeadNote note, CancellationToken cancellationToken)
    {
        var message = Encoding.UTF8.GetBytes(Format(note, time.GetUtcNow()));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SendTimeout);
        try
        {
            if (target.Transport == SyslogTransport.Udp)
            {
                using var udp = new UdpClient(target.Host.Contains(':', StringComparison.Ordinal) ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
                await udp.SendAsync(message, target.Host, target.Port, timeout.Token);
            }
            else
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(target.Host, target.Port, timeout.Token);
                await using var stream = tcp.GetStream();
                byte[] frame = [.. Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{message.Length} ")), .. message];
                await stream.WriteAsync(frame, timeout.Token);
                await stream.FlushAsync(timeout.Token);
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (!_down) LogDown(logger, target.Transport.ToString(), note.Seq, e.GetType().Name);
            else LogStillDown(logger, note.Seq, e.GetType().Name);
            _down = true;
            return false;
        }
        if (_down) LogBack(logger, target.Transport.ToString(), note.Seq);
        _down = false;
        LogSent(logger, note.Seq);
        return true;
    }

    /// <summary>
    /// <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG</c>: no structured data, the
    /// note as the (ASCII) message, so any receiver's plain-text archive keeps it greppable.
    /// </summary>
    public static string Format(AuditHeadNote note, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<{Priority}>1 {now.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {Header(note.Node, 255)} {AppName} {Environment.ProcessId} {MessageId} - {note}");

    /// <summary>RFC 5424 header fields are PRINTUSASCII without spaces, or "-".</summary>
    private static string Header(string value, int max)
    {
        var clean = new string(value.Where(c => c is > ' ' and < (char)127).Take(max).ToArray());
        return clean.Length == 0 ? "-" : clean;
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Warning, Message = "Audit head notes cannot reach the syslog receiver over {Transport} ({ErrorType}); head {Seq} is kept and sent again on the next round. Mail and the audit log are not affected; this is logged once per outage.")]
    private static partial void LogDown(ILogger logger, string transport, long seq, string errorType);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Audit head notes reach the syslog receiver over {Transport} again (head {Seq} sent)")]
    private static partial void LogBack(ILogger logger, string transport, long seq);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Debug, Message = "Audit head {Seq} not sent: the syslog receiver is still unreachable ({ErrorType})")]
    private static partial void LogStillDown(ILogger logger, long seq, string errorType);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Debug, Message = "Audit head {Seq} sent to syslog")]
    private static partial void LogSent(ILogger logger, long seq);
}
