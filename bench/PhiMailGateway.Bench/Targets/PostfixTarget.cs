using System.Globalization;
using PhiMailGateway.Bench.Content;

namespace PhiMailGateway.Bench.Targets;

/// <summary>
/// A private Postfix instance as the reference relay: its own config and queue folders under a
/// temp folder (`postfix -c DIR`), smtpd on 127.0.0.1:PORT, the loopback network trusted
/// (mynetworks), every message relayed to [127.0.0.1]:SINK, no local delivery, no TLS (TLS-first
/// scenarios: relayed to the MX sink with smtp_tls_security_level=encrypt). Postfix
/// and its smtp-source/smtp-sink come from Debian's package, installed when missing. Runs as root
/// (this sandbox); processes run as the postfix user as usual.
/// </summary>
public sealed class PostfixTarget : IMailTarget
{
    private string? _root;
    private string? _configDirectory;
    private int _masterPid;

    public string Name => "postfix";
    public int SmtpPort { get; private set; }

    /// <summary>With StartTls, smtpd offers STARTTLS with a self-signed RSA-2048 certificate (the gateway's key size); AUTH is never sent to it.</summary>
    public Load.SessionOpening Opening { get; init; } = Load.SessionOpening.Plain;

    public Load.SessionOpening ClientOpening => new(Opening.StartTls);

    public static async Task EnsureInstalledAsync()
    {
        if (File.Exists("/usr/sbin/postfix")) return;
        Console.WriteLine("Installing Postfix from Debian's packages (debconf: No configuration)...");
        var (code, output) = await Shell.RunAsync("debconf-set-selections", [], stdin: "postfix postfix/main_mailer_type select No configuration\n");
        if (code != 0) throw new InvalidOperationException("debconf-set-selections failed:\n" + output);
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        (code, output) = await Shell.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", "postfix"], environment: env);
        if (code != 0)
        {
            await Shell.RunAsync("apt-get", ["update"], environment: env);
            (code, output) = await Shell.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", "postfix"], environment: env);
        }
        if (code != 0 || !File.Exists("/usr/sbin/postfix")) throw new InvalidOperationException("apt-get install postfix failed:\n" + output);
    }

    public async Task<string?> StartAsync(Scenario scenario, Upstreams upstreams, CancellationToken cancellationToken)
    {
        // Postfix has no TLS-first: for those scenarios it relays every message to the recipient's MX
        // sink over mandatory TLS (encrypt: the certificate is not checked, so it verifies less than
        // the gateway's PKIX or DANE), which is what the gateway's direct copies travel over.
        var relayhost = $"[127.0.0.1]:{upstreams.SmarthostPort}";
        var tlsLevel = "none";
        if (scenario.Needs.HasFlag(Feature.Direct))
        {
            var mx = upstreams.Direct ?? throw new InvalidOperationException($"{scenario.Name} needs the recipient domains' MX.");
            relayhost = $"[{mx.Sink.Address}]:{mx.Sink.Port}";
            tlsLevel = "encrypt";
        }
        _root = Path.Combine(Path.GetTempPath(), "phimail-bench-postfix-" + Guid.NewGuid().ToString("N")[..12]);
        _configDirectory = Path.Combine(_root, "etc");
        var queue = Path.Combine(_root, "queue");
        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(_configDirectory);
        Directory.CreateDirectory(queue);
        Directory.CreateDirectory(data);
        SmtpPort = GatewayTarget.FreePort();

        // Postfix's own processes (user postfix) write their lock and cache files here.
        await Shell.RunAsync("chown", ["postfix", data]);

        var smtpdTls = "smtpd_tls_security_level = none";
        if (Opening.StartTls)
        {
            var (certFile, keyFile) = await WriteTlsCertificateAsync(_configDirectory, cancellationToken);
            smtpdTls = $"smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {certFile}\nsmtpd_tls_key_file = {keyFile}";
        }

        await File.WriteAllTextAsync(Path.Combine(_configDirectory, "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {queue}
            data_directory = {data}
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = postfix-bench.localdomain
            mydomain = localdomain
            myorigin = $myhostname
            inet_interfaces = loopback-only
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            mydestination =
            relay_domains =
            relayhost = {relayhost}
            local_transport = error:local delivery is disabled
            local_recipient_maps =
            alias_maps =
            alias_database =
            smtpd_relay_restrictions = permit_mynetworks, reject
            smtpd_recipient_restrictions = permit_mynetworks, reject
            {smtpdTls}
            smtp_tls_security_level = {tlsLevel}
            message_size_limit = 104857600
            mailbox_size_limit = 0
            biff = no
            smtputf8_enable = no
            maillog_file_prefixes = {_root}
            maillog_file = {Path.Combine(_root, "maillog")}
            """.Replace("            ", "", StringComparison.Ordinal), cancellationToken);

        // No chroot: the queue is a temp folder without the files a chroot jail needs.
        await File.WriteAllTextAsync(Path.Combine(_configDirectory, "master.cf"), $"""
            127.0.0.1:{SmtpPort} inet n - n - - smtpd
            pickup    fifo  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      fifo  n       -       n       300     1       qmgr
            tlsmgr    unix  -       -       n       1000?   1       tlsmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000?   0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            proxywrite unix -       -       n       -       1       proxymap
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            local     unix  -       n       n       -       -       local
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd
            """.Replace("            ", "", StringComparison.Ordinal), cancellationToken);

        var (code, output) = await Shell.RunAsync("/usr/sbin/postfix", ["-c", _configDirectory, "start"]);
        if (code != 0) throw new InvalidOperationException("postfix start failed:\n" + output);
        var pidFile = Path.Combine(queue, "pid", "master.pid");
        for (var i = 0; i < 100 && !File.Exists(pidFile); i++) await Task.Delay(100, cancellationToken);
        // master holds a lock on its pid file that .NET's own file locking would trip over: read it with cat.
        var (_, pidText) = await Shell.RunAsync("cat", [pidFile]);
        _masterPid = int.Parse(pidText.Trim(), CultureInfo.InvariantCulture);
        await GatewayTarget.WaitForGreetingAsync(SmtpPort, null, cancellationToken);
        return null;
    }

    /// <summary>A self-signed RSA-2048 certificate and key as PEM files readable by Postfix's processes.</summary>
    private static async Task<(string Cert, string Key)> WriteTlsCertificateAsync(string directory, CancellationToken cancellationToken)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=postfix-bench.localdomain", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var cert = Path.Combine(directory, "smtpd.crt");
        var key = Path.Combine(directory, "smtpd.key");
        await File.WriteAllTextAsync(cert, certificate.ExportCertificatePem(), cancellationToken);
        await File.WriteAllTextAsync(key, rsa.ExportPkcs8PrivateKeyPem(), cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (cert, key);
    }

    public double CpuSeconds() => _masterPid == 0 ? 0 : Load.ProcStats.TreeCpuSeconds(_masterPid);

    public long RssBytes() => _masterPid == 0 ? 0 : Load.ProcStats.TreeRss(_masterPid);

    public long? PeakRssBytes() => null;

    // Postfix's peak is polled from the start of the measured run anyway.
    public void ResetPeakRss()
    {
    }

    public int HeldCount() => 0;

    public async Task StopAsync()
    {
        if (_configDirectory is not null)
        {
            await Shell.RunAsync("/usr/sbin/postfix", ["-c", _configDirectory, "stop"]);
            for (var i = 0; i < 100 && _masterPid != 0 && Directory.Exists($"/proc/{_masterPid}"); i++) await Task.Delay(100);
            if (_masterPid != 0 && Directory.Exists($"/proc/{_masterPid}")) await Shell.Kill(_masterPid, "KILL");
            _masterPid = 0;
            _configDirectory = null;
        }
        if (_root is not null && Environment.GetEnvironmentVariable("PHIMAIL_BENCH_KEEP") is null)
        {
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
            _root = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
