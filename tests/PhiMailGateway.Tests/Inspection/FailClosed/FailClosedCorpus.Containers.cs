using System.Formats.Tar;
using System.Text;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Shapes inside files: PDF, Office documents, RTF, gzip, bzip2, xz, zstd, lzip, tar, 7z, rar, OLE2,
// and zips written in the less common ways.
public static partial class FailClosedCorpus
{
    public static IEnumerable<CorpusShape> ContainerShapes() => [.. PdfShapes(), .. OfficeShapes(), .. CompressedShapes(), .. OddZipShapes()];

    private static CorpusShape Attached(string shape, string fileName, byte[] file, string type, params byte[][] images) =>
        new(shape, Wire(DentalCorpus.WithAttachments((fileName, file, type))), images);

    private static IEnumerable<CorpusShape> PdfShapes()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        var photo = DentalCorpus.IntraoralPhotoJpeg();
        var dicom = DentalCorpus.Dicom();

        // The everyday one: a referral letter with the panoramic X-ray placed on its page.
        var pdf = new PdfFixture();
        var image = pdf.Add("<< /Type /XObject /Subtype /Image /Width 2000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode >>", pano);
        yield return Attached("pdf-dct-xobject", "referral.pdf", pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image })), "application/pdf", pano);

        // Raw grayscale pixels behind Flate: only the declared size says it is a radiograph.
        var pixels = ContainerFixtures.Pixels(800 * 600, 7);
        pdf = new PdfFixture();
        image = pdf.Add("<< /Type /XObject /Subtype /Image /Width 800 /Height 600 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode >>", ContainerFixtures.Zlib(pixels));
        yield return Attached("pdf-flate-gray-image", "referral.pdf", pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image })), "application/pdf", pixels);

        // An image object no page uses still travels with the file (an editor left it behind).
        pdf = new PdfFixture();
        pdf.Add("<< /Type /XObject /Subtype /Image /Width 1600 /Height 1200 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode >>", photo);
        yield return Attached("pdf-orphan-image", "letter.pdf", pdf.Build(pdf.Document(new Dictionary<string, int>())), "application/pdf", photo);

        var jp2 = ContainerFixtures.Jp2(1500, 1000, 1);
        pdf = new PdfFixture();
        image = pdf.Add("<< /Type /XObject /Subtype /Image /Width 1500 /Height 1000 /Filter /JPXDecode >>", jp2);
        yield return Attached("pdf-jpx-image", "referral.pdf", pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image })), "application/pdf", jp2);

        // A DICOM attached to the PDF (the document's attachments list): an /EmbeddedFile stream.
        pdf = new PdfFixture();
        var file = pdf.Add("<< /Type /EmbeddedFile /Subtype /application#2Fdicom /Filter /FlateDecode >>", ContainerFixtures.Zlib(dicom));
        var spec = pdf.Add($"<< /Type /Filespec /F (xray.dcm) /UF (xray.dcm) /EF << /F {file} 0 R >> >>");
        yield return Attached("pdf-embedded-dicom", "referral.pdf",
            pdf.Build(pdf.Document(new Dictionary<string, int>(), $"/Names << /EmbeddedFiles << /Names [(xray.dcm) {spec} 0 R] >> >>")), "application/pdf", dicom);

        // A file attachment annotation whose stream has no /Type, behind ASCIIHex and Flate.
        pdf = new PdfFixture();
        file = pdf.Add("<< /Filter [/ASCIIHexDecode /FlateDecode] >>", Encoding.ASCII.GetBytes(Convert.ToHexString(ContainerFixtures.Zlib(pano)) + ">"));
        spec = pdf.Add($"<< /Type /Filespec /F (pano.jpg) /EF << /F {file} 0 R >> >>");
        var annotation = pdf.Add($"<< /Type /Annot /Subtype /FileAttachment /Rect [72 72 96 96] /FS {spec} 0 R >>");
        yield return Attached("pdf-attachment-annotation", "referral.pdf",
            pdf.Build(pdf.Document(new Dictionary<string, int>(), $"/Extra {annotation} 0 R")), "application/pdf", pano);

        // Encrypted: nothing can be read with certainty (the streams here are in fact plain, so the scanner sees them).
        pdf = new PdfFixture();
        image = pdf.Add("<< /Type /XObject /Subtype /Image /Width 2000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode >>", pano);
        var encrypt = pdf.Add("<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <00> /U <00> >>");
        yield return Attached("pdf-encrypted", "referral.pdf",
            pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image }), $"/Encrypt {encrypt} 0 R /ID [<01> <01>]"), "application/pdf", pano);

        // /Width and /Height are references into an object stream.
        var pixels2 = ContainerFixtures.Pixels(700 * 500, 11);
        pdf = new PdfFixture();
        var objStmNumber = pdf.Reserve();
        var widthNumber = objStmNumber + 1;
        var heightNumber = objStmNumber + 2;
        var header = $"{widthNumber} 0 {heightNumber} 4 ";
        pdf.Set(objStmNumber, $"<< /Type /ObjStm /N 2 /First {header.Length} /Filter /FlateDecode >>", ContainerFixtures.Zlib(Encoding.ASCII.GetBytes(header + "700 500")));
        image = pdf.Add($"<< /Type /XObject /Subtype /Image /Width {widthNumber} 0 R /Height {heightNumber} 0 R /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode >>", ContainerFixtures.Zlib(pixels2));
        yield return Attached("pdf-indirect-dimensions", "referral.pdf", pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image })), "application/pdf", pixels2);

        // A zip of X-rays attached inside the PDF.
        pdf = new PdfFixture();
        file = pdf.Add("<< /Type /EmbeddedFile >>", DentalCorpus.Zip(("pano.jpg", pano)));
        spec = pdf.Add($"<< /Type /Filespec /F (xrays.zip) /EF << /F {file} 0 R >> >>");
        yield return Attached("pdf-embedded-zip", "referral.pdf",
            pdf.Build(pdf.Document(new Dictionary<string, int>(), $"/Names << /EmbeddedFiles << /Names [(xrays.zip) {spec} 0 R] >> >>")), "application/pdf", pano);

        // An inline image in the page's content stream (BI ... ID pixels EI), not an XObject.
        var inlinePixels = ContainerFixtures.Pixels(640 * 480, 13);
        pdf = new PdfFixture();
        var pages = pdf.Reserve();
        var inlineContent = pdf.Add("<< /Filter /FlateDecode >>", ContainerFixtures.Zlib([
            .. Encoding.ASCII.GetBytes("q 400 0 0 300 72 400 cm\nBI /W 640 /H 480 /CS /G /BPC 8 ID "), .. inlinePixels, .. Encoding.ASCII.GetBytes("\nEI Q\n")]));
        var inlinePage = pdf.Add($"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 612 792] /Contents {inlineContent} 0 R >>");
        pdf.Set(pages, $"<< /Type /Pages /Kids [{inlinePage} 0 R] /Count 1 >>");
        yield return Attached("pdf-inline-image", "referral.pdf", pdf.Build(pdf.Add($"<< /Type /Catalog /Pages {pages} 0 R >>")), "application/pdf", inlinePixels);

        // Junk before the header (readers accept up to 1 KB) and names written with #xx escapes.
        pdf = new PdfFixture();
        image = pdf.Add("<< /Type /XObject /Subtype /Im#61ge /Width 1600 /Height 1200 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCT#44ecode >>", photo);
        yield return Attached("pdf-junk-prefix-escaped-names", "scan.pdf",
            pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image }), prefix: Encoding.ASCII.GetBytes("garbage before the header\n")), "application/octet-stream", photo);
    }

    private static IEnumerable<CorpusShape> OfficeShapes()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        var photo = DentalCorpus.Png(800, 600);
        var dicom = DentalCorpus.Dicom();
        yield return Attached("docx-media-radiograph", "referral.docx", ContainerFixtures.Ooxml("word/document.xml", ("word/media/image1.jpeg", pano)),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", pano);
        yield return Attached("xlsx-media-photo", "chart.xlsx", ContainerFixtures.Ooxml("xl/workbook.xml", ("xl/media/image1.png", photo)),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", photo);
        yield return Attached("pptx-media-radiograph", "case.pptx", ContainerFixtures.Ooxml("ppt/presentation.xml", ("ppt/media/image2.jpeg", pano)),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation", pano);
        yield return Attached("docx-embedded-dicom", "referral.docx", ContainerFixtures.Ooxml("word/document.xml", ("word/embeddings/xray.dcm", dicom)),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", dicom);
        // Word embeds objects as OLE2 compound files (oleObject1.bin): the gateway cannot look inside.
        yield return Attached("docx-embedded-ole-object", "referral.docx", ContainerFixtures.Ooxml("word/document.xml", ("word/embeddings/oleObject1.bin", ContainerFixtures.Ole2(dicom))),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", dicom);
        yield return Attached("odt-pictures", "referral.odt", ContainerFixtures.Odt(("Pictures/10000000000007D0000003E8.jpg", pano)),
            "application/vnd.oasis.opendocument.text", pano);
        yield return Attached("doc-legacy-ole2", "referral.doc", ContainerFixtures.Ole2(pano), "application/msword", pano);
        yield return Attached("msg-outlook-ole2", "forwarded.msg", ContainerFixtures.Ole2(dicom), "application/vnd.ms-outlook", dicom);
        yield return Attached("rtf-pict-jpeg", "referral.rtf", ContainerFixtures.RtfWithPicture(pano), "application/rtf", pano);
        yield return Attached("rtf-pict-metafile", "referral.rtf", ContainerFixtures.RtfWithPicture(pano, "wmetafile8"), "text/rtf", pano);
        yield return Attached("rtf-objdata", "referral.rtf", ContainerFixtures.RtfWithPicture([.. "\x01\x05\0\0\x02\0\0\0"u8, .. dicom], destination: "objdata"), "application/rtf", dicom);
    }

    private static IEnumerable<CorpusShape> CompressedShapes()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        var dicom = DentalCorpus.Dicom();
        yield return Attached("gzip-dicom", "xray.dcm.gz", ContainerFixtures.Gzip(dicom), "application/gzip", dicom);
        yield return Attached("gzip-as-octet-stream", "data.bin", ContainerFixtures.Gzip(pano), "application/octet-stream", pano);
        yield return Attached("bzip2-radiograph", "pano.jpg.bz2", ContainerFixtures.Bzip2(pano), "application/x-bzip2", pano);
        yield return Attached("xz-radiograph", "pano.jpg.xz", ContainerFixtures.Xz(pano), "application/x-xz", pano);
        yield return Attached("zstd-dicom", "xray.dcm.zst", ContainerFixtures.Zstd(dicom), "application/zstd", dicom);
        yield return Attached("lzip-dicom", "xray.dcm.lz", ContainerFixtures.Lzip(dicom), "application/x-lzip", dicom);
        yield return Attached("tar-ustar", "xrays.tar", ContainerFixtures.Tar(TarEntryFormat.Ustar, ("bitewing.dcm", dicom), ("pano.jpg", pano)), "application/x-tar", dicom, pano);
        yield return Attached("tar-gnu-long-name", "xrays.tar", ContainerFixtures.Tar(TarEntryFormat.Gnu, (new string('d', 120) + "/pano.jpg", pano)), "application/x-tar", pano);
        yield return Attached("tgz-pax", "case.tgz", ContainerFixtures.Gzip(ContainerFixtures.Tar(TarEntryFormat.Pax, ("case/bitewing.dcm", dicom))), "application/gzip", dicom);
        yield return Attached("tar-bz2", "case.tar.bz2", ContainerFixtures.Bzip2(ContainerFixtures.Tar(TarEntryFormat.Ustar, ("pano.jpg", pano))), "application/x-bzip2", pano);
        yield return Attached("tar-xz", "case.tar.xz", ContainerFixtures.Xz(ContainerFixtures.Tar(TarEntryFormat.Pax, ("bitewing.dcm", dicom))), "application/x-xz", dicom);
        // Data after the end-of-archive blocks: tar readers stop there, a raw copy still carries it.
        yield return Attached("tar-trailing-data", "notes.tar",
            [.. ContainerFixtures.Tar(TarEntryFormat.Ustar, ("notes.txt", "nothing to see"u8.ToArray())), .. pano], "application/x-tar", pano);
        // Bytes after the end of a compressed stream: decompressors stop at its end, a raw copy still carries them.
        yield return Attached("gzip-trailing-data", "notes.txt.gz", [.. ContainerFixtures.Gzip("nothing to see"u8.ToArray()), .. pano], "application/gzip", pano);
        yield return Attached("bzip2-trailing-data", "notes.txt.bz2", [.. ContainerFixtures.Bzip2("nothing to see"u8.ToArray()), .. pano], "application/x-bzip2", pano);
        yield return Attached("xz-trailing-data", "notes.txt.xz", [.. ContainerFixtures.Xz("nothing to see"u8.ToArray()), .. pano], "application/x-xz", pano);
        yield return Attached("7z-archive", "xrays.7z", ContainerFixtures.SevenZipStored(dicom), "application/x-7z-compressed", dicom);
        yield return Attached("rar-archive", "xrays.rar", ContainerFixtures.RarStored(pano), "application/vnd.rar", pano);
    }

    private static IEnumerable<CorpusShape> OddZipShapes()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        yield return Attached("zip-streamed-entries", "xrays.zip", ContainerFixtures.StreamedZip(("pano.jpg", pano)), "application/zip", pano);
        // A stored entry whose local header is in the file but not in the central directory: streaming unzip tools extract it.
        yield return Attached("zip-unlisted-local-entry", "notes.zip",
            ContainerFixtures.HandmadeZip([("pano.jpg", pano, false, null), ("notes.txt", "nothing to see"u8.ToArray(), true, null)]), "application/zip", pano);
        var small = DentalCorpus.Jpeg(800, 600, 1, 8000);
        yield return Attached("zip-comment-image", "notes.zip",
            ContainerFixtures.HandmadeZip([("notes.txt", "nothing to see"u8.ToArray(), true, null)], comment: small), "application/zip", small);
        yield return Attached("zip-gzip-inside", "xrays.zip", DentalCorpus.Zip(("pano.jpg.gz", ContainerFixtures.Gzip(pano))), "application/zip", pano);
    }
}
