package com.panops.crypto.demo;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

/**
 * A deterministic, synthetic mailbox: the records a mail connector would ingest for one customer.
 * Every name, address, subject and body is made up (addresses use the reserved {@code .example} and
 * {@code example.*} domains); the same seed always gives the same messages and attachment bytes, so
 * the walkthrough can verify what it reads back against a fresh copy.
 */
final class MailCorpus {

  /** One mail message. {@code id} is the row key that binds its encrypted values to the row. */
  record Message(
      String id,
      Instant receivedAt,
      String sender,
      List<String> recipients,
      String subject,
      String body,
      List<Attachment> attachments) {}

  /** One attachment; its bytes are generated on demand from {@code seed}. */
  record Attachment(String id, String fileName, String contentType, int size, long seed) {
    byte[] content() {
      byte[] b = new byte[size];
      new Random(seed).nextBytes(b);
      return b;
    }

    String objectKey(String tenant) {
      // opaque: S3 keys and metadata are not encrypted, so no file name or subject goes there
      return "tenants/" + tenant + "/mail-attachments/" + id;
    }
  }

  private static final String[] PEOPLE = {
    "dana.whitfield@acme-corp.example",
    "lee.okafor@acme-corp.example",
    "priya.raman@acme-corp.example",
    "tomas.novak@acme-corp.example",
    "grace.mbeki@acme-corp.example",
    "samir.haddad@acme-corp.example",
    "hannah.berg@acme-corp.example",
    "oliver.chen@acme-corp.example",
    "ines.duarte@acme-corp.example",
    "marcus.reid@acme-corp.example",
    "accounts@northwind.example.com",
    "j.alvarez@northwind.example.com",
    "support@contoso.example.org",
    "k.yamada@contoso.example.org",
    "legal@fabrikam.example.net",
    "e.schmidt@fabrikam.example.net",
    "noreply@globex.example.com",
    "r.patel@globex.example.com",
    "team@initech.example.org",
    "m.rossi@initech.example.org",
  };

  private static final String[] COMPANIES = {
    "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Tailspin", "Litware"
  };

  private static final String[] TOPICS = {
    "security review",
    "Q3 forecast",
    "data retention policy",
    "onboarding plan",
    "vendor assessment",
    "incident follow-up",
    "budget planning",
    "release schedule",
    "customer escalation",
    "office move",
  };

  private static final String[] SUBJECTS = {
    "Q3 forecast: updated numbers",
    "Re: Contract renewal with %c",
    "Invoice INV-2025-%n",
    "Meeting notes: %t",
    "Fwd: Travel plans for the Lisbon offsite",
    "Action items from Tuesday's sync",
    "Re: Re: %t",
    "Draft agenda for the %t",
    "Purchase order PO-%n for %c",
    "Question about the %t",
    "Reminder: timesheets due Friday",
    "%c quarterly business review",
    "Updated slides for the %t",
    "Re: Access request for the finance share",
  };

  private static final String[] SENTENCES = {
    "Thanks for the quick turnaround on this.",
    "Please find the latest version attached.",
    "I have added my comments inline and flagged the open questions.",
    "Can we move the call to Thursday afternoon?",
    "The numbers for the second half look better than we expected.",
    "Legal asked us to hold off until the amendment is signed.",
    "Let me know if anything is missing before I send it to %c.",
    "We agreed to revisit the %t after the audit.",
    "The team is on track for the end of the month.",
    "I will circulate the minutes once everyone has had a look.",
    "Could you confirm the shipping address for the new hardware?",
    "We still need sign-off from procurement.",
    "The vendor confirmed the price for another twelve months.",
    "Short version: no blockers, two risks, one decision needed.",
    "Adding Priya, who owns the %t on our side.",
    "Happy to walk through the details on a call.",
  };

  private static final String[][] FILES = {
    {"forecast-q3.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"contract-draft-v2.pdf", "application/pdf"},
    {"site-photo.jpg", "image/jpeg"},
    {"minutes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"invoice.pdf", "application/pdf"},
    {"architecture.png", "image/png"},
    {"export.csv", "text/csv"},
  };

  private final List<Message> messages;

  private MailCorpus(List<Message> messages) {
    this.messages = messages;
  }

  /**
   * {@code count} messages of {@code tenant}, about a third with one or two attachments of 5 to 200
   * KiB.
   */
  static MailCorpus generate(String tenant, int count, long seed) {
    Random r = new Random(seed);
    Instant start = Instant.parse("2025-03-03T08:00:00Z");
    List<Message> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String id = uuid(tenant + "/mail/" + i);
      // a skewed distribution: a few people send most of the mail
      double u = r.nextDouble();
      String sender = PEOPLE[(int) (PEOPLE.length * u * u)];
      int nRecipients = 1 + r.nextInt(4);
      Set<String> to = new LinkedHashSet<>();
      while (to.size() < nRecipients) {
        String p = PEOPLE[r.nextInt(PEOPLE.length)];
        if (!p.equals(sender)) {
          to.add(p);
        }
      }
      String subject = fill(SUBJECTS[r.nextInt(SUBJECTS.length)], r);
      int nSentences = 3 + r.nextInt(10);
      StringBuilder body = new StringBuilder("Hi,\n\n");
      for (int s = 0; s < nSentences; s++) {
        body.append(fill(SENTENCES[r.nextInt(SENTENCES.length)], r));
        body.append(s % 4 == 3 ? "\n\n" : " ");
      }
      body.append("\n\nBest regards,\n").append(displayName(sender)).append('\n');
      List<Attachment> attachments = new ArrayList<>();
      if (r.nextInt(3) == 0) {
        int nAttachments = 1 + r.nextInt(2);
        for (int a = 0; a < nAttachments; a++) {
          String[] f = FILES[r.nextInt(FILES.length)];
          int size = 5 * 1024 + r.nextInt(195 * 1024 + 1);
          attachments.add(
              new Attachment(uuid(id + "/attachment/" + a), f[0], f[1], size, r.nextLong()));
        }
      }
      Instant received = start.plus(Duration.ofMinutes(17L * i + r.nextInt(15)));
      out.add(
          new Message(
              id,
              received,
              sender,
              List.copyOf(to),
              subject,
              body.toString(),
              Collections.unmodifiableList(attachments)));
    }
    return new MailCorpus(Collections.unmodifiableList(out));
  }

  List<Message> messages() {
    return messages;
  }

  List<Attachment> attachments() {
    List<Attachment> all = new ArrayList<>();
    for (Message m : messages) {
      all.addAll(m.attachments());
    }
    return all;
  }

  long attachmentBytes() {
    long n = 0;
    for (Message m : messages) {
      for (Attachment a : m.attachments()) {
        n += a.size();
      }
    }
    return n;
  }

  /** The sender of the most messages (a good blind-index example: many rows, one value). */
  String busiestSender() {
    String best = null;
    long bestCount = -1;
    for (String p : PEOPLE) {
      long c = messagesFrom(p).size();
      if (c > bestCount) {
        best = p;
        bestCount = c;
      }
    }
    return best;
  }

  /** Ids of the messages whose sender equals {@code sender}, ignoring case. */
  Set<String> messagesFrom(String sender) {
    Set<String> ids = new LinkedHashSet<>();
    for (Message m : messages) {
      if (m.sender().equalsIgnoreCase(sender)) {
        ids.add(m.id());
      }
    }
    return ids;
  }

  static String sha256(byte[] b) {
    try {
      return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String uuid(String name) {
    return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static String fill(String template, Random r) {
    return template
        .replace("%c", COMPANIES[r.nextInt(COMPANIES.length)])
        .replace("%t", TOPICS[r.nextInt(TOPICS.length)])
        .replace("%n", String.format("%04d", r.nextInt(10000)));
  }

  private static String displayName(String address) {
    String local = address.substring(0, address.indexOf('@'));
    StringBuilder b = new StringBuilder();
    for (String part : local.split("[._]")) {
      if (!part.isEmpty()) {
        if (b.length() > 0) {
          b.append(' ');
        }
        b.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
      }
    }
    return b.toString();
  }
}
