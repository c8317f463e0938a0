using System.Text;
using PhiMailGateway.Inspection.Containers;

namespace PhiMailGateway.Tests.Inspection.Containers;

public class PdfSyntaxTests
{
    private static object? Read(string text)
    {
        var i = 0;
        return PdfSyntax.ReadValue(Encoding.ASCII.GetBytes(text), ref i);
    }

    [Test]
    public void PdfSyntax_Dictionary_NamesReferencesNumbersAndNesting()
    {
        var dict = (Dictionary<string, object?>)Read("<< /Type /XObject /Sub#74ype /Im#61ge /Width 12 0 R /Height 600 /Decode [1 0] /Title (a (nested) \\) string) /Id <0A0B> /D << /N 1 >> >>")!;
        Assert.Multiple(() =>
        {
            Assert.That(dict["Subtype"], Is.EqualTo(new PdfName("Image")), "#xx escapes are decoded");
            Assert.That(dict["Width"], Is.EqualTo(new PdfRef(12, 0)));
            Assert.That(dict["Height"], Is.EqualTo(600d));
            Assert.That(dict["Decode"], Is.EqualTo(new List<object?> { 1d, 0d }));
            Assert.That(dict["Title"], Is.InstanceOf<PdfString>());
            Assert.That(((Dictionary<string, object?>)dict["D"]!)["N"], Is.EqualTo(1d));
        });
    }

    [Test]
    public void PdfSyntax_TwoNumbersNotFollowedByR_StayNumbers() =>
        Assert.That(Read("[12 0 13]"), Is.EqualTo(new List<object?> { 12d, 0d, 13d }));

    [TestCase("<< /A 1")]
    [TestCase("[1 2")]
    [TestCase("(unterminated")]
    [TestCase("<< 1 2 >>")]
    public void PdfSyntax_Damaged_ThrowsFormatException(string text) =>
        Assert.Throws<FormatException>(() => Read(text));

    [Test]
    public void PdfObjects_ObjectInsideAStream_StillFound()
    {
        // Objects are found by scanning every byte, not by trusting /Length or the cross-reference table.
        var pdf = Encoding.Latin1.GetBytes("%PDF-1.7\n1 0 obj\n<< /Length 5 >>\nstream\r\nabcde\r\nendstream\nendobj\n2 0 obj\n<< /Length 1000 >>\nstream\r\nxx\n3 0 obj\n<< /Subtype /Image >>\nstream\nzz\nendstream\nendobj\n");
        var objects = PdfObjects.Scan(pdf, 100);
        Assert.That(objects.Streams.Select(s => s.Number), Is.EquivalentTo(new[] { 1, 2, 3 }));
        Assert.That(objects.Streams.Single(s => s.Number == 1).DataLength, Is.EqualTo(5));
    }
}
