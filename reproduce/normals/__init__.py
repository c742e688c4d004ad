"""Normal-map super-resolution: maps and masks, the shape/detail decomposition,
angular metrics, perspective normal integration and fine-tuning LIIF on normals.

Axis convention everywhere: a normal (x, y, z) is a unit vector with x to the
right of the image, y up and z towards the camera; 8-bit maps store
(n + 1) / 2 * 255 (``geometry.encode`` / ``geometry.decode``).
"""
