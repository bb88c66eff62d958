package com.panops.crypto.fleet;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Rendezvous hashing: a key is assigned to the live member, among those interested in it, with the
 * highest hash of (member, key), so a member that joins or leaves moves only its share of keys.
 * Worker thread only.
 */
final class Rendezvous {
  /** What this worker knows of another member's interest. */
  static final class MemberView {
    long interestVersion = Long.MIN_VALUE;
    Set<String> interest = Set.of();
  }

  private final FleetMember member;
  private String basis = "";

  Rendezvous(FleetMember member) {
    this.member = member;
  }

  /**
   * Recomputes which of this worker's keys are its own, unless the live members and every interest
   * are as at the last computation.
   */
  void reassign(Map<String, MemberView> members, Set<String> liveMembers) {
    String next = basis(members, liveMembers);
    if (next.equals(basis)) {
      return;
    }
    Map<String, Boolean> assignment = new HashMap<>();
    for (String arn : member.own.interest()) {
      assignment.put(arn, mine(arn, members, liveMembers));
    }
    member.assignment = assignment;
    basis = next;
  }

  private String basis(Map<String, MemberView> members, Set<String> liveMembers) {
    List<String> parts = new ArrayList<>();
    for (String id : new TreeMap<>(members).keySet()) {
      if (liveMembers.contains(id)) {
        parts.add(id + ":" + members.get(id).interestVersion);
      }
    }
    parts.add("me:" + member.own.interestVersion() + ":" + member.own.interestSize());
    return String.join(",", parts);
  }

  private boolean mine(String arn, Map<String, MemberView> members, Set<String> liveMembers) {
    long mine = score(member.id, arn);
    for (Map.Entry<String, MemberView> m : members.entrySet()) {
      if (liveMembers.contains(m.getKey())
          && m.getValue().interest.contains(arn)
          && beats(m.getKey(), score(m.getKey(), arn), member.id, mine)) {
        return false;
      }
    }
    return true;
  }

  private static boolean beats(String a, long sa, String b, long sb) {
    return sa != sb ? Long.compareUnsigned(sa, sb) > 0 : a.compareTo(b) > 0;
  }

  /** A stable 64-bit hash of (member, key): FNV-1a, then the SplitMix64 finaliser. */
  static long score(String member, String arn) {
    long h = 0xcbf29ce484222325L;
    for (byte b : member.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h = (h ^ 0xff) * 0x100000001b3L;
    for (byte b : arn.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }
}
