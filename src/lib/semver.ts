/**
 * The semver functions Slipway uses, each from its own file of the semver package: its index
 * evaluates all of semver's ~40 modules (subset, intersects, simplify, ...), ≈ 2–4 ms of every
 * action's start, while the input checks need only valid and validRange.
 */
import eq from 'semver/functions/eq.js';
import prerelease from 'semver/functions/prerelease.js';
import rsort from 'semver/functions/rsort.js';
import satisfies from 'semver/functions/satisfies.js';
import valid from 'semver/functions/valid.js';
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import validRange from 'semver/ranges/valid.js';

export const semver = { eq, maxSatisfying, prerelease, rsort, satisfies, valid, validRange };
