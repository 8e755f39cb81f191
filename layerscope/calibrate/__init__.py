"""`layerscope calibrate`: fit a node profile's throughputs to the pulls a cluster recorded (issue #16).

events.py parses kubectl events and ECS tasks (pure); fit.py fits the launch model by robust least squares
(scipy, an optional extra); run.py analyses each pulled image through the session and ties the two together;
profile_out.py writes the calibrated profile. Rendering lives in report/calibration_view.py.
"""
