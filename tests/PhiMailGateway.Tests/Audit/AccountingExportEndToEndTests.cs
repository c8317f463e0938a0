using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.Audit;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// The accounting as the privacy officer opens it in a spreadsheet: one row per disclosure with when
/// it was first delivered, first opened and how often downloaded, the gateway's own code mails left
/// out, UTF-8 with a byte-order mark, times a spreadsheet reads.
/// </summary>
public class AccountingExportEndToEndTests
{
    private const string Lee = "dr.lee@specialist.example";

    // The CLI reads the same configuration as the gateway it reports on.
    private const string HostName = "--Gateway:HostName=" + TestGateway.HostName;

    [Test]
    public async Task AuditExport_PickupOpenedAndDownloadedThreeTimes_OneRowWithFirstOpenedAndDownloadCount()
    {
        // The bed's recorder hands every event on to the real, hash-chained audit trail.
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), Lee);
        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, Lee);
        for (var i = 0; i < 3; i++)
        {
            var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
            Assert.That((int)download.StatusCode, Is.EqualTo(200), $"download {i + 1}");
        }

        var (code, csv, error) = await AuditTestKit.CliAsync(bed.Gateway.DataDirectory, "audit", "export", HostName);
        Assert.That(code, Is.Zero, error);
        Assert.That(csv, Does.StartWith("\uFEFFdate,"), "UTF-8 byte-order mark, so Excel reads names right");
        var lines = csv.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = CsvCells(lines[0]);
        Assert.That(lines, Has.Length.EqualTo(2), "one row for the disclosure; the code mail the gateway sent is not a disclosure row:\n" + csv);
        var row = CsvCells(lines[1]);
        string Cell(string column) => row[Array.IndexOf(header, column)];
        Assert.Multiple(() =>
        {
            Assert.That(Cell("recipient_address"), Is.EqualTo(Lee));
            Assert.That(Cell("method"), Is.EqualTo("Pickup"));
            Assert.That(Cell("downloads"), Is.EqualTo("3"));
            Assert.That(Cell("date"), Does.Match(SheetTime), "a time a spreadsheet reads as a date");
            Assert.That(Cell("first_delivered"), Does.Match(SheetTime), "the notice was relayed");
            Assert.That(Cell("first_opened"), Does.Match(SheetTime), "the recipient opened the files");
            Assert.That(string.CompareOrdinal(Cell("first_opened"), Cell("first_delivered")), Is.GreaterThanOrEqualTo(0));
            Assert.That(Cell("outcome"), Is.EqualTo("downloaded"));
        });

        var (allCode, all, allError) = await AuditTestKit.CliAsync(bed.Gateway.DataDirectory, "audit", "export", "--include-gateway-mail", HostName);
        Assert.That(allCode, Is.Zero, allError);
        Assert.That(all.Split("\r\n", StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(3), "asked for: the code mail's row too");
        Assert.That(all, Does.Contain($"no-reply@{TestGateway.HostName}"));
    }

    /// <summary>The cells of one RFC 4180 row (quoted fields, doubled quotes), as a spreadsheet reads them.</summary>
    private static string[] CsvCells(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return [.. cells];
    }

    private const string SheetTime = @"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$";

    [TestCase("DOE^JANE", "JANE DOE")]
    [TestCase("Doe^Jane^Marie^Dr^Jr", "Dr Jane Marie Doe Jr")]
    [TestCase("Doe^Jane^^Dr", "Dr Jane Doe")]
    [TestCase("Yamada^Tarou=山田^太郎=やまだ^たろう", "Tarou Yamada")]
    [TestCase("Jane Doe", "Jane Doe")]
    [TestCase("=HYPERLINK(1)", "=HYPERLINK(1)")]
    [TestCase("", "")]
    public void DicomText_PersonName_ReadingOrder(string dicom, string expected) =>
        Assert.That(DicomText.PersonName(dicom), Is.EqualTo(expected));

    [TestCase("19800101", "1980-01-01")]
    [TestCase("19801301", "19801301")]
    [TestCase("1980", "1980")]
    public void DicomText_Date_IsoWhenItIsADate(string dicom, string expected) =>
        Assert.That(DicomText.Date(dicom), Is.EqualTo(expected));
}
