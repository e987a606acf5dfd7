"""Binary search: halve the range where the answer can be, keeping one invariant, until it is one place."""

from __future__ import annotations


def binary_search(nums: list[int], target: int) -> int:
    """The index of ``target`` in ``nums`` (sorted ascending, distinct values); -1 if absent.

    Constraints: len up to 10^6 — O(log n) per call: no scan, no ``in``, no ``index``.
    Example: binary_search([-1, 0, 3, 5, 9, 12], 9) == 4.

    Complexity: O(log n) time, O(1) space — the answer, if any, stays inside [low, high].
    """
    low, high = 0, len(nums) - 1
    while low <= high:
        mid = (low + high) // 2
        if nums[mid] == target:
            return mid
        if nums[mid] < target:
            low = mid + 1
        else:
            high = mid - 1
    return -1


def search_insert(nums: list[int], target: int) -> int:
    """Where ``target`` goes in ``nums`` (sorted, duplicates allowed): the leftmost such index.

    That is the number of elements smaller than ``target``.
    Constraints: len up to 10^6, O(log n).
    Example: search_insert([1, 3, 3, 5], 3) == 1; search_insert([1, 3, 5], 6) == 3.

    Complexity: O(log n) time, O(1) space — the half-open range [low, high) shrinks around the
    first index whose value is >= target.
    """
    low, high = 0, len(nums)
    while low < high:
        mid = (low + high) // 2
        if nums[mid] < target:
            low = mid + 1
        else:
            high = mid
    return low


def first_and_last(nums: list[int], target: int) -> tuple[int, int]:
    """First and last index of ``target`` in sorted ``nums``; ``(-1, -1)`` if absent.

    Constraints: len up to 10^6, duplicates allowed, O(log n).
    Example: first_and_last([5, 7, 7, 8, 8, 10], 8) == (3, 4).

    Complexity: O(log n) time, O(1) space — two lower-bound searches: for target and target + 1.
    """
    first = search_insert(nums, target)
    if first == len(nums) or nums[first] != target:
        return -1, -1
    return first, search_insert(nums, target + 1) - 1


def search_rotated(nums: list[int], target: int) -> int:
    """The index of ``target`` in a sorted list of distinct values rotated at an unknown point.

    ``[0, 1, 2, 4, 5, 6, 7]`` rotated is ``[4, 5, 6, 7, 0, 1, 2]``. -1 if absent.
    Constraints: len up to 10^6, O(log n).
    Example: search_rotated([4, 5, 6, 7, 0, 1, 2], 0) == 4.

    Complexity: O(log n) time, O(1) space — one half of [low, high] is always sorted; check
    whether the target lies in that half.
    """
    low, high = 0, len(nums) - 1
    while low <= high:
        mid = (low + high) // 2
        if nums[mid] == target:
            return mid
        if nums[low] <= nums[mid]:
            if nums[low] <= target < nums[mid]:
                high = mid - 1
            else:
                low = mid + 1
        elif nums[mid] < target <= nums[high]:
            low = mid + 1
        else:
            high = mid - 1
    return -1


def find_min_rotated(nums: list[int]) -> int:
    """The smallest value of a sorted list of distinct values rotated at an unknown point.

    Constraints: 1 <= len up to 10^6, O(log n).
    Example: find_min_rotated([3, 4, 5, 1, 2]) == 1.

    Complexity: O(log n) time, O(1) space — compare the middle with the right end: bigger means
    the drop is to the right of the middle.
    """
    low, high = 0, len(nums) - 1
    while low < high:
        mid = (low + high) // 2
        if nums[mid] > nums[high]:
            low = mid + 1
        else:
            high = mid
    return nums[low]


def min_eating_speed(piles: list[int], hours: int) -> int:
    """The smallest whole speed (bananas per hour) that eats every pile within ``hours``.

    At speed s a pile of p takes ceil(p / s) hours; one pile per hour at most.
    Constraints: 1 <= len(piles) <= hours; piles >= 1, up to 10^9.
    Example: min_eating_speed([3, 6, 7, 11], 8) == 4.

    Complexity: O(n log max(piles)) time, O(1) space — binary search on the answer: whether a
    speed is enough is monotonic in the speed.
    """
    low, high = 1, max(piles)
    while low < high:
        speed = (low + high) // 2
        if sum(-(-pile // speed) for pile in piles) <= hours:
            high = speed
        else:
            low = speed + 1
    return low


def find_peak(nums: list[int]) -> int:
    """The index of any peak: an element bigger than its neighbours (outside the list is -inf).

    Adjacent elements differ. Any peak is accepted.
    Constraints: 1 <= len up to 10^6, O(log n).
    Example: find_peak([1, 2, 3, 1]) == 2.

    Complexity: O(log n) time, O(1) space — walking uphill from the middle must reach a peak, so
    keep the half that goes up.
    """
    low, high = 0, len(nums) - 1
    while low < high:
        mid = (low + high) // 2
        if nums[mid] < nums[mid + 1]:
            low = mid + 1
        else:
            high = mid
    return low
