// Command genfixtures writes the hand-made test messages in ../ (run it
// from internal/email/testdata with `go run ./genfixtures`). The messages
// are generated rather than typed because most of them need exact bytes in
// legacy charsets (GB2312, GBK, GB18030, Big5, ISO-2022-JP, KOI8-R).
package main

import (
	"encoding/base64"
	"fmt"
	"log"
	"mime/quotedprintable"
	"net/url"
	"os"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

func enc(e encoding.Encoding, s string) string {
	b, err := e.NewEncoder().String(s)
	if err != nil {
		log.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func gbk(s string) string     { return enc(simplifiedchinese.GBK, s) }
func gb18030(s string) string { return enc(simplifiedchinese.GB18030, s) }
func big5(s string) string    { return enc(traditionalchinese.Big5, s) }

// bword is an RFC 2047 "B" encoded word over already-encoded bytes.
func bword(charset, raw string) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString([]byte(raw)) + "?="
}

func qencode(charset, raw string) string {
	var b strings.Builder
	b.WriteString("=?" + charset + "?Q?")
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 0x80 || c == '=' || c == '?' || c == '_':
			fmt.Fprintf(&b, "=%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("?=")
	return b.String()
}

func b64(raw string) string {
	s := base64.StdEncoding.EncodeToString([]byte(raw))
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

func qp(raw string) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(raw))
	w.Close()
	return b.String() + "\r\n"
}

// crlf turns the LF line ends of a Go raw string into CRLF, as on the wire.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func write(name, content string) {
	if err := os.WriteFile(name+".eml", []byte(content), 0o644); err != nil {
		log.Fatal(err)
	}
}

const std = `Date: Tue, 3 Mar 2026 10:15:00 +0800
Message-ID: <%s@shop.example.cn>
MIME-Version: 1.0
`

func main() {
	// 1. GB2312 subject, name and base64 body.
	write("gb2312-base64", crlf(fmt.Sprintf(std, "gb2312-1")+
		"From: "+bword("GB2312", gbk("王小明"))+" <wang@example.cn>\n"+
		"To: "+bword("gb2312", gbk("客服中心"))+" <service@shop.example.cn>\n"+
		"Subject: "+bword("GB2312", gbk("订单123456还没有发货"))+"\n"+
		"Content-Type: text/plain; charset=\"gb2312\"\n"+
		"Content-Transfer-Encoding: base64\n\n")+
		b64(crlf(gbk("你好：\n我的订单123456已经付款三天了，还没有发货，请尽快处理。\n谢谢！\n王小明\n"))))

	// 2. GBK quoted-printable, labelled GB2312 although it has GBK-only
	// characters (镕, 堃): real senders do this all the time.
	write("gbk-labelled-gb2312", crlf(fmt.Sprintf(std, "gbk-1")+
		"From: "+qencode("gb2312", gbk("朱镕堃"))+" <zhu@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+qencode("GB2312", gbk("回复: 退货申请（镕）"))+"\n"+
		"Content-Type: text/plain; charset=GB2312\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n")+
		qp(crlf(gbk("您好，我是朱镕堃，想退回上周买的茶具。\n订单号：A-778899\n"))))

	// 3. GB18030 with four-byte sequences (㐀, 𠀀, €) and an emoji.
	write("gb18030-fourbyte", crlf(fmt.Sprintf(std, "gb18030-1")+
		"From: "+bword("gb18030", gb18030("李㐀"))+" <li@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("GB18030", gb18030("生僻字𠀀测试 😀"))+"\n"+
		"Content-Type: text/plain; charset=GB18030\n"+
		"Content-Transfer-Encoding: 8bit\n\n"+
		gb18030("我的名字里有生僻字：㐀、𠀀。价格是 €25。😀\n")))

	// 4. Big5: traditional Chinese from Taiwan.
	write("big5", crlf(fmt.Sprintf(std, "big5-1")+
		"From: "+bword("big5", big5("陳美麗"))+" <chen@example.com.tw>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("Big5", big5("請問運費多少錢？"))+"\n"+
		"Content-Type: text/plain; charset=big5\n"+
		"Content-Transfer-Encoding: base64\n\n")+
		b64(crlf(big5("您好，請問寄到台北的運費是多少錢？謝謝。\n陳美麗\n"))))

	// 5. Encoded words split in the middle of a character: UTF-8 and GBK,
	// across a fold, the way some webmail encoders cut at a byte count.
	utf := "关于订单的问题"
	ub := []byte(utf)
	gb := gbk("物流信息查询")
	write("split-encoded-words", crlf(fmt.Sprintf(std, "split-1")+
		"From: "+bword("utf-8", string([]byte("赵四")[:4]))+"\n "+bword("utf-8", string([]byte("赵四")[4:]))+" <zhao@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("UTF-8", string(ub[:7]))+"\n "+bword("utf-8", string(ub[7:14]))+"\n\t"+bword("UTF-8", string(ub[14:]))+"\n"+
		"X-Kefu-Note: "+bword("gbk", gb[:5])+" "+bword("GBK", gb[5:])+"\n"+
		"Content-Type: text/plain; charset=utf-8\n\n"+
		"标题被拆成了三个编码字。\n"))

	// 6. HTML only, Chinese, with adjacent inline elements.
	write("html-only", crlf(fmt.Sprintf(std, "html-1")+
		"From: \"刘芳\" <liu@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("商品有质量问题"))+"?=\n"+
		"Content-Type: text/html; charset=utf-8\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n")+
		qp(crlf("<html><head><title>x</title><style>p{color:red}</style></head><body>\n"+
			"<p>您好，</p><p>我收到的<b>保温杯</b><span>有裂缝</span>，请看附件照片。</p>\n"+
			"<ul><li>订单号：889900</li><li>购买日期：2026-02-28</li></ul>\n"+
			"<p>刘芳&nbsp;敬上</p></body></html>\n")))

	// 7. A forwarded message (message/rfc822) holding a GBK mail.
	inner := crlf("From: " + bword("gbk", gbk("供应商")) + " <supplier@example.cn>\n" +
		"To: buyer@shop.example.cn\n" +
		"Subject: " + bword("gbk", gbk("发货通知")) + "\n" +
		"Date: Mon, 2 Mar 2026 09:00:00 +0800\n" +
		"Message-ID: <inner-1@example.cn>\n" +
		"Content-Type: text/plain; charset=gbk\n\n" +
		gbk("您的货物已经发出，快递单号SF123。\n"))
	write("forwarded-rfc822", crlf(fmt.Sprintf(std, "fwd-1")+
		"From: Buyer <buyer@shop.example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("转发：发货通知"))+"?=\n"+
		"Content-Type: multipart/mixed; boundary=\"outer\"\n\n"+
		"--outer\nContent-Type: text/plain; charset=utf-8\n\n请看下面转发的邮件。\n\n"+
		"--outer\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n")+
		inner+crlf("\n--outer--\n"))

	// 8. Attachments named with RFC 2047 (the common, non-standard way).
	pdf := "%PDF-1.4\n% fake invoice\n"
	write("attachment-rfc2047", crlf(fmt.Sprintf(std, "att2047-1")+
		"From: Zhou <zhou@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: invoice\n"+
		"Content-Type: multipart/mixed; boundary=\"b1\"\n\n"+
		"--b1\nContent-Type: text/plain; charset=utf-8\n\n发票在附件里。\n"+
		"--b1\nContent-Type: application/pdf; name=\"=?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("发票2026.pdf"))+"?=\"\n"+
		"Content-Disposition: attachment; filename=\"=?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("发票2026.pdf"))+"?=\"\n"+
		"Content-Transfer-Encoding: base64\n\n")+b64(pdf)+
		crlf("--b1\nContent-Type: application/vnd.ms-excel; name=\""+bword("gb2312", gbk("价格表.xls"))+"\"\n"+
			"Content-Transfer-Encoding: base64\n\n")+b64("fake xls")+crlf("--b1--\n"))

	// 9. RFC 2231 names: GB2312 single value and a UTF-8 continuation.
	pct := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	}
	long := url.PathEscape("售后服务申请表（第二版）.docx")
	write("attachment-rfc2231", crlf(fmt.Sprintf(std, "att2231-1")+
		"From: Sun <sun@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: RFC 2231\n"+
		"Content-Type: multipart/mixed; boundary=\"b2\"\n\n"+
		"--b2\nContent-Type: text/plain; charset=us-ascii\n\nTwo attachments.\n"+
		"--b2\nContent-Type: image/jpeg\n"+
		"Content-Disposition: attachment; filename*=gb2312''"+pct(gbk("收货照片.jpg"))+"\n"+
		"Content-Transfer-Encoding: base64\n\n")+b64("\xff\xd8\xff\xe0 fake jpeg")+
		crlf("--b2\nContent-Type: application/octet-stream\n"+
			"Content-Disposition: attachment;\n filename*0*=UTF-8''"+long[:30]+";\n filename*1*="+long[30:]+"\n"+
			"Content-Transfer-Encoding: base64\n\n")+b64("fake docx")+crlf("--b2--\n"))

	// 10. HTML with an inline cid: image.
	png := "\x89PNG\r\n\x1a\nfake"
	write("inline-cid", crlf(fmt.Sprintf(std, "cid-1")+
		"From: Qian <qian@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: =?utf-8?Q?=E7=85=A7=E7=89=87?=\n"+
		"Content-Type: multipart/alternative; boundary=\"alt\"\n\n"+
		"--alt\nContent-Type: text/plain; charset=utf-8\n\n见图：[image]\n"+
		"--alt\nContent-Type: multipart/related; boundary=\"rel\"\n\n"+
		"--rel\nContent-Type: text/html; charset=utf-8\n\n<p>见图：<img src=\"cid:photo1@example.cn\"></p>\n"+
		"--rel\nContent-Type: image/png\nContent-ID: <photo1@example.cn>\nContent-Transfer-Encoding: base64\n\n")+
		b64(png)+crlf("--rel--\n\n--alt--\n"))

	// 11. English out-of-office reply (headers and subject).
	write("autoreply-en", crlf(fmt.Sprintf(std, "ooo-en")+
		"From: Alice Smith <alice@example.com>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: Automatic reply: Your order 5566 has shipped\n"+
		"Auto-Submitted: auto-replied\n"+
		"X-Auto-Response-Suppress: All\n"+
		"In-Reply-To: <order-5566@shop.example.cn>\n"+
		"References: <order-5566@shop.example.cn>\n"+
		"Content-Type: text/plain; charset=us-ascii\n\n"+
		"I am out of the office until March 10 with no access to email.\n"))

	// 12. Chinese vacation reply identified by its subject only.
	write("autoreply-zh", crlf(fmt.Sprintf(std, "ooo-zh")+
		"From: "+bword("utf-8", "周杰")+" <zhou.jie@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("utf-8", "自动回复：您的订单已发货")+"\n"+
		"In-Reply-To: <order-7788@shop.example.cn>\n"+
		"Content-Type: text/plain; charset=utf-8\n\n"+
		"您好，我正在休假，3月5日回来后回复您。\n"))

	// 13. An ordinary Outlook mail: X-Auto-Response-Suppress alone is not an auto-reply.
	write("outlook-normal", crlf(fmt.Sprintf(std, "outlook-1")+
		"From: \"Wu, Lei\" <wu.lei@example.com>\n"+
		"To: service@shop.example.cn, \"Sales\" <sales@shop.example.cn>\n"+
		"Cc: boss@example.com\n"+
		"Subject: RE: quote for 500 mugs\n"+
		"X-Auto-Response-Suppress: All\n"+
		"Thread-Topic: quote for 500 mugs\n"+
		"In-Reply-To: <quote-1@shop.example.cn>\n"+
		"References: <quote-0@shop.example.cn>\n <quote-1@shop.example.cn>\n"+
		"Content-Type: text/plain; charset=\"us-ascii\"\n\n"+
		"Thanks, the price works for us. Please send the contract.\n"))

	// 14. A standard RFC 3464 bounce with the original headers.
	write("bounce-dsn", crlf(fmt.Sprintf(std, "dsn-1")+
		"From: Mail Delivery System <MAILER-DAEMON@mx.shop.example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: Undelivered Mail Returned to Sender\n"+
		"Auto-Submitted: auto-replied\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn\"\n\n"+
		"--dsn\nContent-Type: text/plain; charset=us-ascii\n\n"+
		"I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"+
		"<nobody@example.org>: host mx.example.org said: 550 5.1.1 User unknown\n"+
		"--dsn\nContent-Type: message/delivery-status\n\n"+
		"Reporting-MTA: dns; mx.shop.example.cn\n\n"+
		"Final-Recipient: rfc822; nobody@example.org\nOriginal-Recipient: rfc822;nobody@example.org\n"+
		"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient\n address rejected: User unknown\n\n"+
		"--dsn\nContent-Type: text/rfc822-headers\n\n"+
		"From: service@shop.example.cn\nTo: nobody@example.org\nSubject: Re: your order\nMessage-ID: <ticket-42-reply-3@shop.example.cn>\n\n"+
		"--dsn--\n"))

	// 15. A non-standard bounce in Chinese, as Chinese webmail sends them.
	write("bounce-nonstandard-zh", crlf(fmt.Sprintf(std, "bounce-zh")+
		"From: postmaster@mail.example.cn\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("gbk", gbk("系统退信"))+"\n"+
		"Content-Type: text/plain; charset=gbk\n"+
		"Content-Transfer-Encoding: 8bit\n\n"+
		gbk("很抱歉，您发送的邮件被退回。\n\n收件人：wrong-user@example.cn\n退信原因：550 Mailbox not found (用户不存在)\n\n")+
		"------ This is a copy of the message, including all the headers. ------\n"+
		"Message-ID: <ticket-77-reply-1@shop.example.cn>\nSubject: Re: order\n\nhello\n"))

	// 16. A delayed-delivery DSN: reported as a bounce with a 4.x.x status.
	write("bounce-delayed", crlf(fmt.Sprintf(std, "delay-1")+
		"From: MAILER-DAEMON@mx.shop.example.cn (Mail Delivery System)\n"+
		"To: service@shop.example.cn\n"+
		"Subject: Delayed Mail (still being retried)\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\n\n"+
		"--d\nContent-Type: text/plain\n\nThis is a warning only; no action is needed.\n"+
		"--d\nContent-Type: message/delivery-status\n\n"+
		"Reporting-MTA: dns; mx.shop.example.cn\n\n"+
		"Final-Recipient: rfc822; slow@example.net\nAction: delayed\nStatus: 4.4.1\n"+
		"Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.1]:25: Connection timed out\n\n"+
		"--d\nContent-Type: message/rfc822\n\n"+
		"From: service@shop.example.cn\nTo: slow@example.net\nSubject: hello\nMessage-ID: <ticket-9@shop.example.cn>\n\nbody\n"+
		"--d--\n"))

	// 17. Broken MIME: the final boundary is missing.
	write("broken-missing-final-boundary", crlf(fmt.Sprintf(std, "broken-1")+
		"From: Zheng <zheng@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: missing boundary\n"+
		"Content-Type: multipart/mixed; boundary=\"zz\"\n\n"+
		"--zz\nContent-Type: text/plain; charset=utf-8\n\n边界没有结束，但正文还在。\n"+
		"--zz\nContent-Type: text/plain; name=\"note.txt\"\nContent-Disposition: attachment; filename=\"note.txt\"\n\n"+
		"attachment text\n"))

	// 18. Broken header lines: no colon, starting with a colon, bad name.
	write("broken-header-lines", crlf(fmt.Sprintf(std, "broken-2")+
		"From: Feng <feng@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: bad headers\n"+
		"this line has no colon\n"+
		": starts with a colon\n"+
		"Bad Header Name: value\n"+
		"Content-Type: text/plain; charset=utf-8\n\n"+
		"正文没有丢。\n"))

	// 19. A part without Content-Type, and a multipart without boundary
	// parameter inside: both default to text.
	write("broken-missing-content-type", crlf(fmt.Sprintf(std, "broken-3")+
		"From: Chu <chu@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: no content type\n"+
		"Content-Type: multipart/mixed; boundary=\"q\"\n\n"+
		"--q\n\nA part with no header at all.\n"+
		"--q\nContent-Transfer-Encoding: 7bit\n\nA second part with no Content-Type.\n"+
		"--q--\n"))

	// 20. An unknown charset label on GBK text: guessed, with a problem.
	write("unknown-charset", crlf(fmt.Sprintf(std, "unknown-cs")+
		"From: Wei <wei@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: unknown charset\n"+
		"Content-Type: text/plain; charset=x-chinese-simp\n"+
		"Content-Transfer-Encoding: 8bit\n\n"+
		gbk("这是用未知字符集标记的简体中文邮件。请帮我查一下包裹。\n")))

	// 21. Bad base64 in the body and in an attachment.
	write("bad-base64", crlf(fmt.Sprintf(std, "b64-1")+
		"From: Jiang <jiang@example.cn>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: bad base64\n"+
		"Content-Type: multipart/mixed; boundary=\"bb\"\n\n"+
		"--bb\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n")+
		strings.TrimSuffix(b64("退款还没到账。"), "\r\n")+"!!*\r\n"+
		crlf("--bb\nContent-Type: application/octet-stream; name=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n"+
			"AAEC$$$AwQF\nBgc=\n--bb--\n"))

	// 22. Undeclared 8-bit GBK: no charset in the body, raw GBK in From.
	write("undeclared-gbk", "Date: Tue, 3 Mar 2026 10:15:00 +0800\r\n"+
		"Message-ID: <nocharset-1@example.cn>\r\n"+
		"From: "+gbk("张三")+" <zhang@example.cn>\r\n"+
		"To: service@shop.example.cn\r\n"+
		"Subject: "+gbk("没有声明字符集")+"\r\n\r\n"+
		crlf(gbk("这封邮件没有声明字符集，是GBK编码的。请问什么时候发货？\n")))

	// 23. Raw UTF-8 in headers (RFC 6532) and an unparseable date.
	write("raw-utf8-headers", "Date: 2026年3月3日 上午10点\r\n"+
		"Message-ID: <utf8hdr-1@example.cn>\r\n"+
		"From: 张三 <zhang@example.cn>\r\n"+
		"To: 李四 <li@example.cn>; 王五 wang@example.cn\r\n"+
		"Subject: 原始UTF-8标题\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"+
		"头部是未编码的UTF-8。\r\n")

	// 24. ISO-2022-JP (Japanese, 7-bit with escapes).
	jis := func(s string) string { return enc(japanese.ISO2022JP, s) }
	write("iso-2022-jp", crlf(fmt.Sprintf(std, "jis-1")+
		"From: "+bword("ISO-2022-JP", jis("山田太郎"))+" <yamada@example.jp>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("ISO-2022-JP", jis("注文の確認"))+"\n"+
		"Content-Type: text/plain; charset=ISO-2022-JP\n"+
		"Content-Transfer-Encoding: 7bit\n\n"+
		jis("注文番号１２３の配送状況を教えてください。\n")))

	// 25. KOI8-R (Russian).
	koi := func(s string) string { return enc(charmap.KOI8R, s) }
	write("koi8-r", crlf(fmt.Sprintf(std, "koi8-1")+
		"From: "+qencode("koi8-r", koi("Иван Петров"))+" <ivan@example.ru>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: "+bword("KOI8-R", koi("Где мой заказ?"))+"\n"+
		"Content-Type: text/plain; charset=koi8-r\n"+
		"Content-Transfer-Encoding: 8bit\n\n"+
		koi("Здравствуйте! Заказ 4455 ещё не пришёл.\n")))

	// 26. Undeclared Big5 body: told apart from GB18030 by frequency.
	write("undeclared-big5", crlf(fmt.Sprintf(std, "big5-2")+
		"From: Lin <lin@example.com.tw>\n"+
		"To: service@shop.example.cn\n"+
		"Subject: no charset, Big5 body\n"+
		"Content-Type: text/plain\n\n"+
		big5("您好，我上個月在貴店購買的商品到現在還沒有收到，請幫我查詢一下物流狀態。謝謝您的幫忙。\n")))
}
